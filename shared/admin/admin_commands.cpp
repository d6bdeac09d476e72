#include "admin/admin_commands.hpp"

#include <Poco/Data/Statement.h>
#include <Poco/Tuple.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/error.hpp"
#include "domain/domain_name.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

void writeFile(const std::string& path, const std::string& content, mode_t mode) {
    // O_EXCL-free but mode set at creation: a key file is never world-readable, not even briefly.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    ::fchmod(fd, mode);
    const ssize_t written = ::write(fd, content.data(), content.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(content.size()))
        throw std::runtime_error("short write to " + path);
}

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

}  // namespace

void exportCertificate(Database& database, const KeyEncryptor& kek, const std::string& domainId,
                       const std::string& outDir) {
    if (!isDomainId(domainId)) throw Error(ErrorCode::NotFound, "domain not found");
    using Row = Poco::Tuple<std::string, std::string, std::string>;
    std::vector<Row> rows;
    database.withSession([&](Poco::Data::Session& session) {
        std::string id = domainId;
        session << "SELECT certificate_pem, chain_pem, private_key_ciphertext FROM certificates "
                   "WHERE domain_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
            use(id), into(rows), now;
        return true;
    });
    if (rows.empty()) throw Error(ErrorCode::NotFound, "no certificate for domain " + domainId);
    const std::string keyPem = kek.decrypt(rows[0].get<2>());
    if (::mkdir(outDir.c_str(), 0700) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create " + outDir + ": " + std::strerror(errno));
    writeFile(outDir + "/cert.pem", rows[0].get<0>(), 0644);
    writeFile(outDir + "/chain.pem", rows[0].get<1>(), 0644);
    writeFile(outDir + "/key.pem", keyPem, 0600);
}

int rotateKeyEncryptionKey(Database& database, const KeyEncryptor& current,
                           const KeyEncryptor& next) {
    return database.withSession([&](Poco::Data::Session& session) {
        int rewritten = 0;
        session.begin();
        try {
            for (const SealedColumn& column : kSealedColumns) {
                std::vector<Poco::Tuple<std::string, std::string, std::string>> rows;
                session << "SELECT " + std::string(column.id) + ", " + column.ciphertext + ", " +
                               column.keyId + " FROM " + column.table + " WHERE " +
                               column.ciphertext + " IS NOT NULL FOR UPDATE",
                    into(rows), now;
                for (auto& row : rows) {
                    if (row.get<2>() == next.keyId()) continue;  // already rotated (a rerun)
                    if (row.get<2>() != current.keyId())
                        throw std::runtime_error(std::string(column.table) + " " + row.get<0>() +
                                                 " is sealed under KEK " + row.get<2>() +
                                                 ", not the current " + current.keyId());
                    std::string sealed = next.encrypt(current.decrypt(row.get<1>()));
                    std::string keyId = next.keyId();
                    session << "UPDATE " + std::string(column.table) + " SET " + column.ciphertext +
                                   " = $1, " + column.keyId + " = $2 WHERE " + column.id + " = $3",
                        use(sealed), use(keyId), use(row.get<0>()), now;
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
