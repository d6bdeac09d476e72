#include "admin/key_rotation.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"

namespace dnsh {

namespace {

// The tables and columns holding sealed private keys, with the column naming their KEK.
struct SealedColumn {
    const char* table;
    const char* idType;  // of its primary key `id`, to which the batch's lower bound is cast
    const char* ciphertext;
    const char* keyId;
};
constexpr SealedColumn kSealedColumns[] = {
    {"acme_accounts", "bigint", "key_ciphertext", "key_id"},
    {"acme_orders", "text", "cert_key_ciphertext", "cert_key_id"},
    {"certificates", "text", "private_key_ciphertext", "key_id"},
};

// Keys re-sealed per transaction: its row locks last milliseconds, and one batch is in memory.
constexpr int kBatchRows = 500;
// A rerun with nothing to do still scans whole tables (locking nothing).
constexpr std::chrono::milliseconds kStatementTimeout = std::chrono::minutes(30);
// Rows are taken NOWAIT; this bounds the wait for a table lock (a migration's), below
// PostgreSQL's deadlock_timeout (1 s): in a lock cycle the rotation gives way, not a request.
constexpr std::chrono::milliseconds kLockTimeout{500};
// A batch that met a row another transaction holds (a scheduler step) is tried again after
// this, for at most kBusyPatience in a row.
constexpr std::chrono::milliseconds kBusyRetryDelay{200};
constexpr std::chrono::milliseconds kBusyPatience = std::chrono::minutes(2);

// `work` in a transaction of its own with the rotation's timeouts, run again (after
// kBusyRetryDelay) while a row or table it needs is locked by another transaction (55P03, rolled
// back), for at most kBusyPatience; then Error(DatabaseTimeout) naming `what`.
template <typename Result, typename Work>
Result inRotationTransaction(Database& database, const std::string& what, Work&& work) {
    const auto giveUp = std::chrono::steady_clock::now() + kBusyPatience;
    for (;;) {
        std::optional<Result> done = database.withSession([&](Poco::Data::Session& session) {
            std::optional<Result> result;
            try {
                inTransaction(session, [&] {
                    setTransactionTimeouts(session, kStatementTimeout, kLockTimeout);
                    result = work(session);
                    return true;
                });
            } catch (const SqlError& e) {
                if (!e.lockNotAvailable()) throw;  // NOWAIT or lock_timeout
                result.reset();
            }
            return result;
        });
        if (done) return std::move(*done);
        if (std::chrono::steady_clock::now() >= giveUp)
            throw Error(ErrorCode::DatabaseTimeout,
                        what + ": rows stayed locked by another transaction for 2 minutes");
        std::this_thread::sleep_for(kBusyRetryDelay);
    }
}

// Before anything changes: a key labelled with a KEK `ring` does not hold (removed too early,
// another installation's) would otherwise stop the rotation halfway.
void refuseUnknownKeks(Database& database, const KeyEncryptor& ring) {
    const std::vector<std::string> ids = ring.keyIds();
    const std::string held = textArrayLiteral(std::set<std::string>(ids.begin(), ids.end()));
    const auto check = [&](Poco::Data::Session& session) {
        for (const SealedColumn& column : kSealedColumns) {
            const SqlRows unknown = runSql(
                session, "SELECT id::text AS row_id, " + std::string(column.keyId) +
                             " AS key_id FROM " + column.table + " WHERE " + column.ciphertext +
                             " IS NOT NULL AND " + column.keyId + " <> ALL($1::text[]) LIMIT 1",
                {held});
            if (!unknown.empty())
                throw std::runtime_error(
                    std::string(column.table) + " " + unknown.text(0, "row_id") +
                    " is sealed under KEK " + unknown.text(0, "key_id") +
                    ", which KEY_ENCRYPTION_KEY_FILE does not hold (nothing re-encrypted)");
        }
        return true;
    };
    inRotationTransaction<bool>(database, "checking the KEK ids", check);
}

struct Batch {
    int rewritten = 0;
    std::optional<std::string> lastId;  // none: no key left after the bound
};

// Up to kBatchRows keys of `column` after `after` (by id) that are not under the sealing KEK,
// re-sealed under it. Only those rows are locked, FOR NO KEY UPDATE: the foreign-key checks of
// other writers (FOR KEY SHARE: an order taking its account, a certificate its order) go on.
Batch resealBatch(Poco::Data::Session& session, const KeyEncryptor& ring,
                  const SealedColumn& column, const std::optional<std::string>& after) {
    const std::string table = column.table, ciphertext = column.ciphertext;
    const std::string keyId = column.keyId, idType = column.idType;
    std::vector<SqlValue> params{ring.keyId()};
    if (after) params.emplace_back(*after);
    // row_id, not id: ORDER BY id must sort by the column (numerically for accounts), as the
    // bound compares.
    const SqlRows rows = runSql(
        session, "SELECT id::text AS row_id, " + ciphertext + " AS ciphertext, " + keyId +
                     " AS key_id FROM " + table + " WHERE " + ciphertext + " IS NOT NULL AND " +
                     keyId + " IS DISTINCT FROM $1" + (after ? " AND id > $2::" + idType : "") +
                     " ORDER BY id LIMIT " + std::to_string(kBatchRows) +
                     " FOR NO KEY UPDATE NOWAIT",
        params);
    Batch batch;
    for (int i = 0; i < rows.size(); ++i) {
        const std::string id = rows.text(i, "row_id");
        SecretString plaintext;
        try {
            plaintext = ring.decrypt(rows.text(i, "ciphertext"));
        } catch (const std::runtime_error&) {
            throw std::runtime_error(table + " " + id + " (labelled KEK " +
                                     rows.optionalText(i, "key_id").value_or("none") +
                                     ") opens with no KEK of KEY_ENCRYPTION_KEY_FILE");
        }
        const KeyEncryptor::Sealed sealed = ring.seal(plaintext);
        // The ciphertext and its KEK's id in one statement: a crash leaves each key whole,
        // under the old KEK or the new one, and both open until the old file is removed.
        batch.rewritten += static_cast<int>(
            runSql(session,
                   "UPDATE " + table + " SET " + ciphertext + " = $1, " + keyId +
                       " = $2 WHERE id = $3::" + idType,
                   {sealed.ciphertext, sealed.keyId, id})
                .affected());
        batch.lastId = id;
    }
    return batch;
}

}  // namespace

int rotateKeyEncryptionKey(Database& database, const KeyEncryptor& keys) {
    // One set of KEKs for the whole rotation, whatever happens to the files meanwhile.
    const KeyEncryptor ring = keys.snapshot();
    refuseUnknownKeks(database, ring);
    int rewritten = 0;
    for (const SealedColumn& column : kSealedColumns) {
        // Keyset paging by id: each batch starts where the last one ended, so the table is
        // walked once; only keys not yet under the target are read, so a rerun locks nothing.
        std::optional<std::string> after;
        for (;;) {
            const std::string what = std::string(column.table) + " after " +
                                     after.value_or("the first row") + " (" +
                                     std::to_string(rewritten) + " key(s) re-sealed before)";
            Batch batch;
            try {
                batch = inRotationTransaction<Batch>(
                    database, what, [&](Poco::Data::Session& session) {
                        return resealBatch(session, ring, column, after);
                    });
            } catch (const Error&) {
                throw;
            } catch (const std::runtime_error& e) {  // a key that does not open
                throw std::runtime_error(std::string(e.what()) + "; the " +
                                         std::to_string(rewritten) +
                                         " key(s) re-sealed before it stay so");
            }
            if (!batch.lastId) break;
            rewritten += batch.rewritten;  // committed
            after = batch.lastId;
        }
    }
    return rewritten;
}

}  // namespace dnsh
