// dnsh-admin rotate-kek while the services write (README "Rotate the KEK ... no failed
// request"): the rotation's row locks must not hold up the foreign-key checks (FOR KEY SHARE)
// that issue-certificate (an order taking its account) and storing a certificate (its order)
// make on the rows it re-seals, and a rerun with nothing left to re-seal must lock no row.
// Real PostgreSQL, a scratch database; rotateKeyEncryptionKey runs in a thread of the test.
#include <Poco/Data/Session.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>

#include "admin/key_rotation.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/random.hpp"
#include "db/database.hpp"
#include "db/sql.hpp"
#include "support/domain_flows.hpp"
#include "support/held_rows.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

struct KekFile {
    std::string path = "/tmp/dnsh-kek-" + randomHex(6);
    KekFile() {
        std::ofstream(path) << randomHex(32) << "\n";
        ::chmod(path.c_str(), 0600);  // a KEK file must be private to its owner
    }
    ~KekFile() { std::remove(path.c_str()); }
};

std::string quote(const std::string& text) {
    return "'" + text + "'";
}

std::string insertDomain(ScratchDatabase& db) {
    const std::string id = randomHex(16);
    db.run("INSERT INTO domains (id, domain_name, verification_token) VALUES (" + quote(id) +
           ", 'd" + id.substr(0, 12) + ".example', " + quote(randomHex(32)) + ")");
    return id;
}

// An order the CA has finished, its certificate key kept (sealed under `kek`).
std::string insertKeyedOrder(ScratchDatabase& db, const std::string& domainId,
                             const std::string& accountId, const KeyEncryptor& kek) {
    const std::string id = randomHex(16);
    const KeyEncryptor::Sealed key = kek.seal("ORDER-KEY");
    db.run(
        "INSERT INTO acme_orders (id, domain_id, account_id, order_url, finalize_url, status, "
        "step, cert_key_ciphertext, cert_key_id) VALUES (" +
        quote(id) + ", " + quote(domainId) + ", " + accountId + ", 'https://ca.test/order/" + id +
        "', 'https://ca.test/finalize/" + id + "', 'processing', 'await_order', " +
        quote(key.ciphertext) + ", " + quote(key.keyId) + ")");
    return id;
}

std::string certificateInsert(const std::string& domainId, const std::string& orderId,
                              const KeyEncryptor& kek) {
    const KeyEncryptor::Sealed key = kek.seal("CERTIFICATE-KEY");
    return "INSERT INTO certificates (id, domain_id, order_id, certificate_pem, chain_pem, "
           "private_key_ciphertext, key_id, issued_at, expires_at) VALUES (" +
           quote(randomHex(16)) + ", " + quote(domainId) + ", " + quote(orderId) +
           ", 'leaf', 'chain', " + quote(key.ciphertext) + ", " + quote(key.keyId) +
           ", now(), now() + interval '90 days')";
}

// What a database in service holds, every key sealed under `kek`: an account; domain A with an
// order and its certificate; domain B with an order issue-certificate has just claimed (no
// account yet, no key, as claimIssue leaves it); domain C with an order whose certificate the
// scheduler has yet to store. Four keys.
struct ServiceRows {
    std::string account, certificate, claimedOrder, unstoredOrder, domainC;
};

ServiceRows insertServiceRows(ScratchDatabase& db, const KeyEncryptor& kek) {
    ServiceRows rows;
    const KeyEncryptor::Sealed accountKey = kek.seal("ACCOUNT-KEY");
    db.run("INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) VALUES "
           "('https://ca.test/dir', " +
           quote(accountKey.ciphertext) + ", " + quote(accountKey.keyId) + ")");
    rows.account = db.text("SELECT id::text FROM acme_accounts");
    const std::string domainA = insertDomain(db);
    const std::string orderA = insertKeyedOrder(db, domainA, rows.account, kek);
    db.run(certificateInsert(domainA, orderA, kek));
    rows.certificate = db.text("SELECT id FROM certificates WHERE domain_id = " + quote(domainA));
    const std::string domainB = insertDomain(db);
    rows.claimedOrder = randomHex(16);
    db.run("INSERT INTO acme_orders (id, domain_id, kind, step, next_attempt_at) VALUES (" +
           quote(rows.claimedOrder) + ", " + quote(domainB) +
           ", 'issue', 'place_order', 'infinity')");
    rows.domainC = insertDomain(db);
    rows.unstoredOrder = insertKeyedOrder(db, rows.domainC, rows.account, kek);
    return rows;
}

// What `sql` answered on a connection of its own that waits at most 2 s for a lock: "" when it
// went through, else its SQLSTATE (55P03: a row it needed stayed locked).
std::string answerWithin2s(const std::string& databaseUrl, const std::string& sql) {
    Database database(databaseUrl);
    try {
        Poco::Data::Session& session = database.session();
        executeScript(session, "SET lock_timeout = '2s'");
        runSql(session, sql);
        return "";
    } catch (const SqlError& e) {
        return e.sqlState();
    }
}

// completeIssueClaim's change: the claimed order takes its account (the foreign key's check
// locks the account's row FOR KEY SHARE).
std::string claimTakesAccount(const ServiceRows& rows) {
    return "UPDATE acme_orders SET account_id = " + rows.account +
           " WHERE id = " + quote(rows.claimedOrder);
}

std::string keksInUse(ScratchDatabase& db) {
    return db.text(
        "SELECT string_agg(DISTINCT k, ',') FROM (SELECT key_id k FROM certificates UNION ALL "
        "SELECT key_id FROM acme_accounts UNION ALL SELECT cert_key_id FROM acme_orders WHERE "
        "cert_key_ciphertext IS NOT NULL) s");
}

std::future<int> rotateInThread(const std::string& databaseUrl, const KeyEncryptor& ring) {
    return std::async(std::launch::async, [databaseUrl, ring] {
        Database database(databaseUrl);
        return rotateKeyEncryptionKey(database, ring);
    });
}

}  // namespace

TEST_CASE("rotate-kek: an order taking its account and a certificate stored meanwhile do not "
          "wait for it") {
    const KekFile oldFile, newFile;
    const KeyEncryptor oldKek = KeyEncryptor::fromFile(oldFile.path);
    // Step 2 of the README's rotation done: the new KEK seals, the old one still opens.
    const KeyEncryptor ring = KeyEncryptor::fromFile(newFile.path + "," + oldFile.path);
    ScratchDatabase db("dnsh_rotate_locks");
    db.migrate();
    const ServiceRows rows = insertServiceRows(db, oldKek);

    // Holds the rotation at its last table: FOR SHARE conflicts with any lock taken to rewrite
    // the row, and with no foreign-key check. (Declared first: it waits for the release.)
    std::future<int> rotation;
    HeldRows heldCertificate(db.url(), "SELECT id FROM certificates WHERE id = " +
                                           quote(rows.certificate) + " FOR SHARE");
    rotation = rotateInThread(db.url(), ring);
    // At the certificates: waiting for the row (one transaction for everything, as it was), or
    // the orders before them re-sealed (committed batches).
    const std::string atCertificates =
        "SELECT ((SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE NOT l.granted AND a.datname = current_database()) + (SELECT count(*) FROM "
        "acme_orders WHERE cert_key_id = " +
        quote(ring.keyId()) + "))::text";
    REQUIRE_MESSAGE(waitFor(10s, [&] { return db.text(atCertificates) != "0"; }),
                    "the rotation did not reach the certificates within 10 s");
    REQUIRE(rotation.wait_for(0s) == std::future_status::timeout);  // held there

    // With every key row locked FOR UPDATE until the one commit, both waited for the rotation:
    // 55P03 here, 503 "database busy" from issue-certificate and the scheduler.
    CHECK(answerWithin2s(db.url(), claimTakesAccount(rows)) == "");
    CHECK(answerWithin2s(db.url(), certificateInsert(rows.domainC, rows.unstoredOrder, ring)) ==
          "");

    heldCertificate.release();
    CHECK(rotation.get() == 4);  // the account, two orders' keys, the certificate's
    CHECK(keksInUse(db) == ring.keyId());
    CHECK(ring.decrypt(db.text("SELECT key_ciphertext FROM acme_accounts")) == "ACCOUNT-KEY");
}

TEST_CASE("rotate-kek: a rerun with nothing left to re-seal locks no row") {
    const KekFile oldFile, newFile;
    const KeyEncryptor ring = KeyEncryptor::fromFile(newFile.path + "," + oldFile.path);
    ScratchDatabase db("dnsh_rotate_locks");
    db.migrate();
    // Every key already under the new KEK, as after the first run.
    const ServiceRows rows = insertServiceRows(db, KeyEncryptor::fromFile(newFile.path));

    // A row another transaction holds (the strongest lock): a rerun that touches no row does
    // not wait for it.
    std::future<int> rerun;
    HeldRows heldCertificate(db.url(), "SELECT id FROM certificates WHERE id = " +
                                           quote(rows.certificate) + " FOR UPDATE");
    rerun = rotateInThread(db.url(), ring);
    // It locked every key row FOR UPDATE and waited here (up to 2 minutes), holding the rest.
    CHECK_MESSAGE(rerun.wait_for(5s) == std::future_status::ready,
                  "the rerun still waits for a row it has nothing to rewrite in");
    CHECK(answerWithin2s(db.url(), claimTakesAccount(rows)) == "");
    heldCertificate.release();
    CHECK(rerun.get() == 0);
    CHECK(keksInUse(db) == ring.keyId());
}

TEST_CASE("rotate-kek: more keys than one transaction takes are all re-sealed and counted once") {
    const KekFile oldFile, newFile;
    const KeyEncryptor oldKek = KeyEncryptor::fromFile(oldFile.path);
    const KeyEncryptor ring = KeyEncryptor::fromFile(newFile.path + "," + oldFile.path);
    ScratchDatabase db("dnsh_rotate_locks");
    db.migrate();
    insertServiceRows(db, oldKek);
    // 1,101 more certificates: three batches of 500, each starting after the last one's id.
    const std::string domainId = insertDomain(db);
    const KeyEncryptor::Sealed key = oldKek.seal("CERTIFICATE-KEY");
    db.run("INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
           "private_key_ciphertext, key_id, issued_at, expires_at) SELECT md5(g::text || " +
           quote(randomHex(8)) + "), " + quote(domainId) + ", 'leaf', 'chain', " +
           quote(key.ciphertext) + ", " + quote(key.keyId) +
           ", now(), now() + interval '90 days' FROM generate_series(1, 1101) g");

    Database database(db.url());
    CHECK(rotateKeyEncryptionKey(database, ring) == 4 + 1101);
    CHECK(keksInUse(db) == ring.keyId());
    CHECK(rotateKeyEncryptionKey(database, ring) == 0);
}
