#include "admin/admin_commands.hpp"

#include <Poco/Data/Statement.h>
#include <Poco/Tuple.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "core/error.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "db/transaction.hpp"
#include "domain/domain_lock.hpp"
#include "domain/domain_name.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

[[noreturn]] void failWith(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// The export directory: created 0700 when missing; an existing one must be a real directory
// (not a symlink) owned by us and writable by nobody else, or another local user could have the
// decrypted key written where they choose. Returns an O_DIRECTORY descriptor to write under.
int openExportDirectory(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) failWith("cannot create " + dir);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) failWith("refusing " + dir + " (not a directory, or a symlink)");
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        ::close(fd);
        failWith("cannot stat " + dir);
    }
    if (info.st_uid != ::geteuid() || (info.st_mode & 022) != 0) {
        ::close(fd);
        throw std::runtime_error("refusing " + dir +
                                 ": it must be owned by this user and writable by nobody else");
    }
    return fd;
}

// A new file (O_EXCL: never through a symlink or over a file someone placed there), its mode set
// at creation, every write checked.
void writeNewFile(int dirFd, const std::string& dir, const std::string& name,
                  const std::string& content, mode_t mode) {
    const std::string path = dir + "/" + name;
    const int fd =
        ::openat(dirFd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) failWith("cannot create " + path + " (it must not exist yet)");
    auto fail = [&](const std::string& what) {
        const int saved = errno;
        ::close(fd);
        ::unlinkat(dirFd, name.c_str(), 0);
        errno = saved;
        failWith(what + " " + path);
    };
    if (::fchmod(fd, mode) != 0) fail("cannot set the mode of");  // whatever the umask said
    for (std::size_t done = 0; done < content.size();) {
        const ssize_t written = ::write(fd, content.data() + done, content.size() - done);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) fail("cannot write");
        done += static_cast<std::size_t>(written);
    }
    if (::fsync(fd) != 0) fail("cannot sync");
    if (::close(fd) != 0) failWith("cannot close " + path);
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
    const SecretString keyPem = kek.decrypt(rows[0].get<2>());
    const int dirFd = openExportDirectory(outDir);
    try {
        writeNewFile(dirFd, outDir, "cert.pem", rows[0].get<0>(), 0644);
        writeNewFile(dirFd, outDir, "chain.pem", rows[0].get<1>(), 0644);
        writeNewFile(dirFd, outDir, "key.pem", keyPem.str(), 0600);
    } catch (...) {
        ::close(dirFd);
        throw;
    }
    ::close(dirFd);
}

namespace {

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

namespace {

// Rows per page of the list: one statement each, one page held in memory at a time.
constexpr int kListPageRows = 1000;

// The list in two stretches, each walked by key along an index: the domains with a current
// certificate by (expires_at, created_at, id) from certificates_newest_expiry_idx, then those
// without one by (created_at, id) from domains_newest_idx. The current certificate is the one
// not superseded: the newest by (created_at, id), kept so by certificates_mark_newest.
enum class ListStretch { WithCertificate, WithoutCertificate };

// The ORDER BY columns of a page's last row: the next page starts after it.
struct ListCursor {
    long long expiresAtMicros = 0;  // WithCertificate only
    long long createdAtMicros = 0;
    std::string id;
};

// A timestamptz from `placeholder`, microseconds since 1970: exact, as in listPage.
std::string fromMicros(const std::string& placeholder) {
    std::string sql = "('epoch'::timestamptz + ";
    sql += placeholder;
    sql += "::bigint * interval '1 microsecond')";
    return sql;
}

// One page. One statement text per kind of page (a status or not, an expiry bound or not,
// first or later) with no condition a parameter switches off, so that every plan of it, the
// plan cache's generic one too, starts its index scan at the cursor (as listPage does).
SqlRows readListPage(Poco::Data::Session& session, ListStretch stretch,
                     const std::string& status, bool expiryBound, Poco::Int64 withinMs,
                     const std::optional<ListCursor>& after) {
    std::vector<SqlValue> params;
    auto parameter = [&params](SqlValue value) {
        params.push_back(std::move(value));
        std::string placeholder = "$";
        placeholder += std::to_string(params.size());
        return placeholder;
    };
    const bool withCertificate = stretch == ListStretch::WithCertificate;
    std::string sql;
    if (withCertificate)
        sql = "SELECT d.id, d.domain_name, d.status, c.expires_at, c.renew_at, d.created_at "
              "FROM certificates c JOIN domains d ON d.id = c.domain_id "
              "WHERE c.superseded_at IS NULL";
    else
        sql = "SELECT d.id, d.domain_name, d.status, NULL::timestamptz AS expires_at, "
              "NULL::timestamptz AS renew_at, d.created_at FROM domains d "
              "WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.domain_id = d.id "
              "AND c.superseded_at IS NULL)";
    if (!status.empty()) {
        sql += " AND d.status = ";
        sql += parameter(status);
    }
    if (expiryBound && withCertificate) {
        sql += " AND c.expires_at < now() + ";
        sql += parameter(withinMs);
        sql += "::bigint * interval '1 millisecond'";
    }
    if (after) {
        std::string expiresAt;
        if (withCertificate) expiresAt = fromMicros(parameter(after->expiresAtMicros));
        const std::string createdAt = fromMicros(parameter(after->createdAtMicros));
        const std::string id = parameter(after->id);
        std::string rest = "(d.created_at, d.id) > (";
        rest += createdAt;
        rest += ", ";
        rest += id;
        rest += ")";
        if (withCertificate) {
            // The bound alone is what the index scan can start at.
            sql += " AND c.expires_at >= ";
            sql += expiresAt;
            sql += " AND (c.expires_at > ";
            sql += expiresAt;
            sql += " OR ";
            sql += rest;
            sql += ")";
        } else {
            sql += " AND ";
            sql += rest;
        }
    }
    sql += withCertificate ? " ORDER BY c.expires_at, d.created_at, d.id"
                           : " ORDER BY d.created_at, d.id";
    sql += " LIMIT ";
    sql += std::to_string(kListPageRows);
    return runSql(session, sql, params, SqlResults::Binary);
}

}  // namespace

void forEachDomainSummary(Database& database, const std::string& status,
                          std::optional<std::chrono::milliseconds> expiringWithin,
                          const std::function<void(const DomainSummary&)>& each) {
    // Two plain values, not an optional: GCC 12 -O2 sees the optional's value as maybe unset.
    const bool expiryBound = expiringWithin.has_value();
    const Poco::Int64 withinMs = expiryBound ? expiringWithin->count() : 0;
    for (const ListStretch stretch :
         {ListStretch::WithCertificate, ListStretch::WithoutCertificate}) {
        // An expiry bound leaves out every domain without a certificate.
        if (stretch == ListStretch::WithoutCertificate && expiryBound) break;
        std::optional<ListCursor> after;
        for (;;) {
            const SqlRows rows = database.withSession([&](Poco::Data::Session& session) {
                return readListPage(session, stretch, status, expiryBound, withinMs, after);
            });
            for (int row = 0; row < rows.size(); ++row)
                each(DomainSummary{rows.text(row, "id"), rows.text(row, "domain_name"),
                                   rows.text(row, "status"),
                                   rows.rfc3339(row, "expires_at").value_or(""),
                                   rows.rfc3339(row, "renew_at").value_or("")});
            if (rows.size() < kListPageRows) break;
            const int last = rows.size() - 1;
            after = ListCursor{stretch == ListStretch::WithCertificate
                                   ? rows.unixMicros(last, "expires_at")
                                   : 0,
                               rows.unixMicros(last, "created_at"), rows.text(last, "id")};
        }
    }
}

void renewNow(Database& database, const std::string& domainId) {
    if (!isDomainId(domainId)) throw Error(ErrorCode::NotFound, "domain not found");
    // The domain's row first, then the certificate (README "Lock order"): the UPDATE's
    // renew_at trigger rewrites the domain's view row, and a renewal being stored or failing
    // holds the domain row and the view row before it updates the domain's certificates. Two
    // statements, as in OrderStore::recordAri: no documented order between a WITH query's locks
    // and the UPDATE's.
    long long changed = 0;
    database.withSession([&](Poco::Data::Session& session) {
        return inTransaction(session, [&] {
            if (!lockDomain(session, domainId)) return true;
            changed =
                runSql(session,
                       "UPDATE certificates SET renew_at = now() WHERE id = (SELECT c.id FROM "
                       "certificates c JOIN domains d ON d.id = c.domain_id "
                       "AND d.status = 'active' WHERE c.domain_id = $1 AND NOT EXISTS (SELECT 1 "
                       "FROM acme_orders o WHERE o.domain_id = c.domain_id AND o.status IN "
                       "('pending', 'ready', 'processing')) "
                       "ORDER BY c.created_at DESC, c.id DESC LIMIT 1)",
                       {domainId})
                    .affected();
            return true;
        });
    });
    if (changed == 1) return;
    const bool exists = database.withSession([&](Poco::Data::Session& session) {
        std::string id = domainId;
        int found = 0;
        session << "SELECT count(*)::int FROM domains WHERE id = $1", use(id), into(found), now;
        return found == 1;
    });
    if (!exists) throw Error(ErrorCode::NotFound, "domain not found");
    throw Error(ErrorCode::BadRequest,
                "nothing to renew: the domain is not active, or a renewal is already running");
}

}  // namespace dnsh
