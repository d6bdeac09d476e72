// dnsh-admin rotate-kek: every sealed key is re-encrypted under the new KEK in one transaction;
// a key sealed under an unknown KEK stops it with nothing changed. Rotation rewrites a whole
// database, so the test gets a scratch database of its own on the test server.
#include <Poco/Data/Statement.h>
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "crypto/key_encryption.hpp"
#include "crypto/random.hpp"
#include "db/database.hpp"
#include "support/database.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace Poco::Data::Keywords;

namespace {

struct TempKek {
    std::string path = "/tmp/dnsh-kek-" + randomHex(6);
    TempKek() { std::ofstream(path) << randomHex(32) << "\n"; }
    ~TempKek() { std::remove(path.c_str()); }
};

class ScratchDatabase {
public:
    ScratchDatabase() : name_("dnsh_rotate_" + randomHex(4)) {
        execute("CREATE DATABASE " + name_);
        // libpq takes the last of a repeated keyword: same server, other database.
        url_ = databaseUrl() + " dbname=" + name_;
        database_ = std::make_unique<Database>(url_);
    }
    ~ScratchDatabase() {
        database_.reset();
        try {
            execute("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        } catch (...) {
        }
    }
    const std::string& url() const { return url_; }
    void run(const std::string& sql) {
        database_->withSession([&](Poco::Data::Session& session) {
            executeScript(session, sql);
            return true;
        });
    }
    std::string text(const std::string& sql) {
        return database_->withSession([&](Poco::Data::Session& session) {
            std::vector<std::string> values;
            session << sql, into(values), now;
            return values.empty() ? std::string() : values[0];
        });
    }

private:
    std::string name_, url_;
    std::unique_ptr<Database> database_;
};

// Runs dnsh-admin against `databaseUrl` with `currentKek`; returns its exit status.
int admin(const std::string& databaseUrl, const std::string& currentKek,
          const std::string& arguments) {
    const std::string command = "DATABASE_URL='" + databaseUrl +
                                "' KEY_ENCRYPTION_KEY_FILE=" + currentKek + " " +
                                requireEnv("DNSH_ADMIN_BIN") + " " + arguments + " >/dev/null 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void insertSealedCertificate(ScratchDatabase& db, const std::string& domainId,
                             const KeyEncryptor& kek, const std::string& secret) {
    db.run("INSERT INTO domains (id, domain_name, verification_token) VALUES ('" + domainId +
           "', 'd" + domainId.substr(0, 8) + ".example', '" + randomHex(32) + "')");
    db.run(
        "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
        "private_key_ciphertext, "
        "key_id, issued_at, expires_at) VALUES ('" +
        randomHex(16) + "', '" + domainId + "', 'leaf', 'chain', '" + kek.encrypt(secret) + "', '" +
        kek.keyId() + "', now(), now() + interval '90 days')");
}

}  // namespace

TEST_CASE("rotate-kek re-encrypts every key under the new KEK, and refuses foreign ones") {
    const TempKek first, second, stranger;
    const KeyEncryptor current = KeyEncryptor::fromFile(first.path);
    const KeyEncryptor replacement = KeyEncryptor::fromFile(second.path);
    const KeyEncryptor foreign = KeyEncryptor::fromFile(stranger.path);
    ScratchDatabase db;
    REQUIRE(admin(db.url(), first.path, "migrate") == 0);

    const std::string domainId = randomHex(16);
    insertSealedCertificate(db, domainId, current, "KEY-MATERIAL");
    db.run(
        "INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) VALUES "
        "('https://ca.test/dir', '" +
        current.encrypt("ACCOUNT-KEY") + "', '" + current.keyId() + "')");

    REQUIRE(admin(db.url(), first.path, "rotate-kek --new-key-file " + second.path) == 0);
    const std::string certificateKey = db.text(
        "SELECT private_key_ciphertext FROM certificates WHERE domain_id = '" + domainId + "'");
    CHECK(replacement.decrypt(certificateKey) == "KEY-MATERIAL");
    CHECK_THROWS(current.decrypt(certificateKey));
    CHECK(replacement.decrypt(db.text("SELECT key_ciphertext FROM acme_accounts")) ==
          "ACCOUNT-KEY");
    CHECK(db.text("SELECT string_agg(DISTINCT key_id, ',') FROM (SELECT key_id FROM certificates "
                  "UNION ALL SELECT key_id FROM acme_accounts) k") == replacement.keyId());

    // A key sealed under a third KEK: rotating again fails as a whole and changes nothing.
    insertSealedCertificate(db, randomHex(16), foreign, "OTHER");
    CHECK(admin(db.url(), second.path, "rotate-kek --new-key-file " + first.path) != 0);
    CHECK(db.text("SELECT private_key_ciphertext FROM certificates WHERE domain_id = '" + domainId +
                  "'") == certificateKey);
    CHECK(db.text("SELECT count(*)::text FROM certificates WHERE key_id = '" + current.keyId() +
                  "'") == "0");
}
