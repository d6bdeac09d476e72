#include "admin/key_rotation.hpp"

#include <Poco/Data/Statement.h>
#include <Poco/Tuple.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

// The tables and columns holding sealed private keys, with the column naming their KEK.
struct SealedColumn {
    const char* table;
    const char* id;
    const char* ciphertext;
    const char* keyId;
};
constexpr SealedColumn kSealedColumns[] = {
    {"acme_accounts", "id::text", "key_ciphertext", "key_id"},
    {"acme_orders", "id", "cert_key_ciphertext", "cert_key_id"},
    {"certificates", "id", "private_key_ciphertext", "key_id"},
};

constexpr std::chrono::milliseconds kRotationStatementTimeout = std::chrono::minutes(30);
constexpr std::chrono::milliseconds kRotationLockTimeout = std::chrono::minutes(2);

}  // namespace

int rotateKeyEncryptionKey(Database& database, const KeyEncryptor& keys) {
    // One set of KEKs for the whole transaction, whatever happens to the files meanwhile.
    const KeyEncryptor ring = keys.snapshot();
    const std::string target = ring.keyId();
    return database.withSession([&](Poco::Data::Session& session) {
        int rewritten = 0;
        session.begin();
        try {
            // The one transaction re-seals every key: longer than DB_STATEMENT_TIMEOUT allows a
            // handler, and it may wait for a scheduler step holding a key row. Handlers that need
            // a row it holds meanwhile answer 503 after DB_LOCK_TIMEOUT and are retried.
            setTransactionTimeouts(session, kRotationStatementTimeout, kRotationLockTimeout);
            for (const SealedColumn& column : kSealedColumns) {
                std::vector<Poco::Tuple<std::string, std::string, std::string>> rows;
                session << "SELECT " + std::string(column.id) + ", " + column.ciphertext + ", " +
                               column.keyId + " FROM " + column.table + " WHERE " +
                               column.ciphertext + " IS NOT NULL FOR UPDATE",
                    into(rows), now;
                for (auto& row : rows) {
                    if (row.get<2>() == target) continue;  // already there (or a rerun)
                    SecretString plaintext;
                    try {
                        plaintext = ring.decrypt(row.get<1>());
                    } catch (const std::runtime_error&) {
                        throw std::runtime_error(std::string(column.table) + " " + row.get<0>() +
                                                 " is sealed under KEK " + row.get<2>() +
                                                 ", which KEY_ENCRYPTION_KEY_FILE does not hold");
                    }
                    KeyEncryptor::Sealed sealed = ring.seal(plaintext);
                    session << "UPDATE " + std::string(column.table) + " SET " + column.ciphertext +
                                   " = $1, " + column.keyId + " = $2 WHERE " + column.id + " = $3",
                        use(sealed.ciphertext), use(sealed.keyId), use(row.get<0>()), now;
                    ++rewritten;
                }
            }
            session.commit();
        } catch (...) {
            session.rollback();
            throw;
        }
        return rewritten;
    });
}

}  // namespace dnsh
