// dnsh-admin rotate-kek: every sealed key is re-encrypted under the new KEK (in batches, see
// rotate_kek_locks_test.cpp); a key sealed under an unknown KEK stops it with nothing changed.
// Rotation rewrites a whole database, so the test gets a scratch database of its own on the test
// server.
#include <Poco/Data/Statement.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "crypto/key_encryption.hpp"
#include "crypto/random.hpp"
#include "db/database.hpp"
#include "support/database.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace Poco::Data::Keywords;

namespace {

struct TempKek {
    std::string path = "/tmp/dnsh-kek-" + randomHex(6);
    TempKek() {
        std::ofstream(path) << randomHex(32) << "\n";
        ::chmod(path.c_str(), 0600);  // a KEK file must be private to its owner
    }
    ~TempKek() { std::remove(path.c_str()); }
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

// Every place a sealed key lives, as (ciphertext, key id) per row: what a failed rotation must
// leave exactly as it was.
std::string sealedState(ScratchDatabase& db) {
    return db.text(
        "SELECT string_agg(t || ' ' || id || ' ' || coalesce(c, '-') || ' ' || coalesce(k, '-'), "
        "E'\\n' ORDER BY t, id) FROM ("
        "SELECT 'account' t, id::text id, key_ciphertext c, key_id k FROM acme_accounts "
        "UNION ALL SELECT 'order', id, cert_key_ciphertext, cert_key_id FROM acme_orders "
        "UNION ALL SELECT 'certificate', id, private_key_ciphertext, key_id FROM certificates) s");
}

}  // namespace

TEST_CASE("rotate-kek re-encrypts every key under the new KEK, and refuses foreign ones") {
    const TempKek first, second, stranger;
    const KeyEncryptor current = KeyEncryptor::fromFile(first.path);
    const KeyEncryptor replacement = KeyEncryptor::fromFile(second.path);
    const KeyEncryptor foreign = KeyEncryptor::fromFile(stranger.path);
    ScratchDatabase db("dnsh_rotate");
    REQUIRE(admin(db.url(), first.path, "migrate") == 0);

    const std::string domainId = randomHex(16);
    insertSealedCertificate(db, domainId, current, "KEY-MATERIAL");
    db.run(
        "INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) VALUES "
        "('https://ca.test/dir', '" +
        current.encrypt("ACCOUNT-KEY") + "', '" + current.keyId() + "')");
    // A certificate key persisted before finalize (acme_orders.cert_key_ciphertext), and an
    // order that has none yet.
    const std::string orderId = randomHex(16);
    db.run(
        "INSERT INTO acme_orders (id, domain_id, account_id, order_url, finalize_url, status, "
        "step, cert_key_ciphertext, cert_key_id) VALUES ('" +
        orderId + "', '" + domainId +
        "', (SELECT id FROM acme_accounts), 'https://ca.test/order/1', "
        "'https://ca.test/finalize/1', 'processing', 'await_order', '" +
        current.encrypt("ORDER-KEY") + "', '" + current.keyId() + "')");
    db.run(
        "INSERT INTO acme_orders (id, domain_id, account_id, order_url, finalize_url, status, "
        "step) VALUES ('" +
        randomHex(16) + "', '" + domainId +
        "', (SELECT id FROM acme_accounts), 'https://ca.test/order/2', "
        "'https://ca.test/finalize/2', 'invalid', 'await_dns')");

    REQUIRE(admin(db.url(), first.path, "rotate-kek --new-key-file " + second.path) == 0);
    const std::string certificateKey = db.text(
        "SELECT private_key_ciphertext FROM certificates WHERE domain_id = '" + domainId + "'");
    CHECK(replacement.decrypt(certificateKey) == "KEY-MATERIAL");
    CHECK_THROWS(current.decrypt(certificateKey));
    const std::string accountKey = db.text("SELECT key_ciphertext FROM acme_accounts");
    CHECK(replacement.decrypt(accountKey) == "ACCOUNT-KEY");
    CHECK_THROWS(current.decrypt(accountKey));
    const std::string orderKey =
        db.text("SELECT cert_key_ciphertext FROM acme_orders WHERE id = '" + orderId + "'");
    CHECK(replacement.decrypt(orderKey) == "ORDER-KEY");
    CHECK_THROWS(current.decrypt(orderKey));
    CHECK(db.text("SELECT string_agg(DISTINCT key_id, ',') FROM (SELECT key_id FROM certificates "
                  "UNION ALL SELECT key_id FROM acme_accounts UNION ALL SELECT cert_key_id FROM "
                  "acme_orders WHERE cert_key_ciphertext IS NOT NULL) k") == replacement.keyId());
    CHECK(db.text("SELECT count(*)::text FROM acme_orders WHERE cert_key_ciphertext IS NULL AND "
                  "cert_key_id IS NULL") == "1");

    // A key sealed under a third KEK: rotating again fails and changes nothing. It is a
    // certificate's, and certificates come after accounts and orders, whose batches commit as
    // they go: the KEK ids are checked before any key is rewritten.
    insertSealedCertificate(db, randomHex(16), foreign, "OTHER");
    const std::string before = sealedState(db);
    REQUIRE(before.find(accountKey) != std::string::npos);
    REQUIRE(before.find(orderKey) != std::string::npos);
    CHECK(admin(db.url(), second.path, "rotate-kek --new-key-file " + first.path) != 0);
    CHECK(sealedState(db) == before);
    CHECK(db.text("SELECT private_key_ciphertext FROM certificates WHERE domain_id = '" + domainId +
                  "'") == certificateKey);
    CHECK(db.text("SELECT key_ciphertext FROM acme_accounts") == accountKey);
    CHECK(db.text("SELECT key_id FROM acme_accounts") == replacement.keyId());
    CHECK(db.text("SELECT cert_key_ciphertext FROM acme_orders WHERE id = '" + orderId + "'") ==
          orderKey);
    CHECK(db.text("SELECT cert_key_id FROM acme_orders WHERE id = '" + orderId + "'") ==
          replacement.keyId());
    CHECK(db.text("SELECT count(*)::text FROM (SELECT key_id FROM certificates UNION ALL SELECT "
                  "key_id FROM acme_accounts UNION ALL SELECT cert_key_id FROM acme_orders) k "
                  "WHERE key_id = '" +
                  current.keyId() + "'") == "0");
}

TEST_CASE("rotate-kek refuses a --new-key-file that does not exist and changes nothing") {
    const TempKek first;
    const KeyEncryptor current = KeyEncryptor::fromFile(first.path);
    ScratchDatabase db("dnsh_rotate");
    REQUIRE(admin(db.url(), first.path, "migrate") == 0);
    const std::string domainId = randomHex(16);
    insertSealedCertificate(db, domainId, current, "KEY-MATERIAL");
    const std::string before = sealedState(db);
    // A typo in the path: the ring would skip the missing file and "rotate" to the current KEK,
    // exit 0, and the operator would retire the only KEK that opens the keys.
    const std::string missing = "/tmp/dnsh-kek-missing-" + randomHex(6);
    CHECK(admin(db.url(), first.path, "rotate-kek --new-key-file " + missing) != 0);
    CHECK(sealedState(db) == before);
    CHECK(db.text("SELECT key_id FROM certificates WHERE domain_id = '" + domainId + "'") ==
          current.keyId());
}

TEST_CASE("rotate-kek and list given a stray word or an empty value are bad usage and change "
          "nothing") {
    const TempKek first, second;
    const KeyEncryptor older = KeyEncryptor::fromFile(second.path);
    ScratchDatabase db("dnsh_rotate");
    // Mid-rotation: the first file seals, the key is still under the second.
    const std::string ring = first.path + "," + second.path;
    REQUIRE(admin(db.url(), ring, "migrate") == 0);
    const std::string domainId = randomHex(16);
    insertSealedCertificate(db, domainId, older, "KEY-MATERIAL");
    const std::string before = sealedState(db);
    const std::vector<std::string> misuses{
        // --new-key-file forgotten: the word was ignored, the key re-sealed under the first
        // file's KEK with exit 0, and the operator would go on to retire KEKs believing FILE
        // sealed it.
        "rotate-kek " + second.path,
        // `--new-key-file "$NEWKEK"` with the variable unset: Poco gives the option an empty
        // value, which was read as no option at all: the same re-seal, exit 0.
        "rotate-kek --new-key-file=", "rotate-kek --new-key-file ''",
        // The same for a filter: `list --status=` listed every domain, exit 0.
        "list --status=", "list --status ''",
        // An option no command has (--expiring-within meant): Poco's option parsing refuses it,
        // which answered 78 (EX_CONFIG) as if a setting were wrong.
        "list --expires-within 7d"};
    for (const std::string& misuse : misuses) {
        CAPTURE(misuse);
        CHECK(admin(db.url(), ring, misuse) == 64);  // EX_USAGE
    }
    CHECK(sealedState(db) == before);
    CHECK(db.text("SELECT key_id FROM certificates WHERE domain_id = '" + domainId + "'") ==
          older.keyId());
}
