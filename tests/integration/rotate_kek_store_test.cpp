// A certificate stored after rotate-kek re-sealed its order's key is sealed under the new KEK
// (README "Rotate the KEK"), whatever copy the scheduler's turn read at its start: a slow turn
// (the CA slow to finalize or to answer renewalInfo) that loaded the order while its key was
// under the old KEK and stores the certificate after the rotation and its rerun used to store
// that copy, labelled with the old KEK, which only kek.previous opens: once step 4 removes it,
// the edge agents and export-cert cannot open the key. And an order row holding no key is an
// internal error that stores nothing. OrderStore as the scheduler's worker calls it and the
// rotation as dnsh-admin rotate-kek runs it, on a scratch database.
#include <doctest/doctest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "admin/key_rotation.hpp"
#include "core/error.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/random.hpp"
#include "db/database.hpp"
#include "issuance/order_store.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

const std::string kWorker = "rotate-kek-store-test";
constexpr Poco::Int64 kLeaseMs = 60'000;

// A KEK file in `dir`, private to its owner (KeyEncryptor refuses one others may read).
std::string kekFile(const TempDir& dir, const std::string& name) {
    const std::string path = dir.write(name, randomHex(32) + "\n");
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace);
    return path;
}

struct FinishedOrder {
    std::string domainId;
    std::string orderId;
};

// A certificate_pending domain whose issue order the CA has issued for (await_order, due now),
// its account's key and, with `keyed`, its certificate key (saved before finalize) sealed under
// `ring`'s sealing KEK.
FinishedOrder finishedOrder(ScratchDatabase& db, const KeyEncryptor& ring, bool keyed) {
    const FinishedOrder order{randomHex(16), randomHex(16)};
    const KeyEncryptor::Sealed accountKey = ring.seal("ACCOUNT-KEY");
    db.run("INSERT INTO acme_accounts (directory_url, key_ciphertext, key_id) VALUES "
           "('https://ca.test/directory', " +
           quoted(accountKey.ciphertext) + ", " + quoted(accountKey.keyId) + ")");
    db.run("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) "
           "VALUES (" +
           quoted(order.domainId) + ", 'kek-" + order.domainId + ".example', " +
           quoted(randomHex(32)) + ", 'certificate_pending', now())");
    const KeyEncryptor::Sealed certificateKey = ring.seal("CERTIFICATE-KEY");
    const std::string keyValues =
        keyed ? quoted(certificateKey.ciphertext) + ", " + quoted(certificateKey.keyId)
              : "NULL, NULL";
    db.run("INSERT INTO acme_orders (id, domain_id, kind, account_id, order_url, finalize_url, "
           "status, step, next_attempt_at, cert_key_ciphertext, cert_key_id) VALUES (" +
           quoted(order.orderId) + ", " + quoted(order.domainId) +
           ", 'issue', (SELECT id FROM acme_accounts), 'https://ca.test/order/" + order.orderId +
           "', 'https://ca.test/finalize/" + order.orderId +
           "', 'processing', 'await_order', now() - interval '1 second', " + keyValues + ")");
    return order;
}

// A scheduler turn's start: the due order claimed for its lease and loaded (StoredOrder keeps
// the sealed key as the row held it then).
StoredOrder turnStarted(ScratchDatabase& db, const FinishedOrder& order) {
    const std::optional<std::string> claimed =
        db.database().withSession([&](Poco::Data::Session& session) {
            return OrderStore(session).claimDue(kWorker, kLeaseMs);
        });
    REQUIRE(claimed == order.orderId);
    return db.database().withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).load(order.orderId, kWorker);
    });
}

// The turn's end: the certificate the CA issued stored with the order it loaded at its start.
void storeCertificate(ScratchDatabase& db, const StoredOrder& turn) {
    db.database().withSession([&](Poco::Data::Session& session) {
        OrderStore(session).storeCertificate(
            turn, kWorker,
            NewCertificate{randomHex(16), "leaf", "chain", "2026-12-01T00:00:00Z",
                           "2027-03-01T00:00:00Z", 30LL * 24 * 3600 * 1000, std::nullopt});
        return true;
    });
}

}  // namespace

TEST_CASE("rotate-kek: a certificate stored by a turn that read its order before the rotation "
          "is sealed under the new KEK") {
    const TempDir keks;
    const std::string kekA = kekFile(keks, "kek"), kekB = kekFile(keks, "kek.next");
    // Step 1 of the README's rotation: A seals, B opens too.
    const KeyEncryptor beforeRotation = KeyEncryptor::fromFile(kekA + "," + kekB);
    // Step 2 done: B seals, A still opens; what rotate-kek runs with.
    const KeyEncryptor rotationRing = KeyEncryptor::fromFile(kekB + "," + kekA);
    // Step 4 done: A (kek.previous) removed.
    const KeyEncryptor onlyB = KeyEncryptor::fromFile(kekB);
    const std::string idA = KeyEncryptor::fromFile(kekA).keyId();
    const std::string idB = onlyB.keyId();
    ScratchDatabase db("dnsh_rotate_store");
    db.migrate();
    const FinishedOrder order = finishedOrder(db, beforeRotation, true);

    const StoredOrder turn = turnStarted(db, order);
    REQUIRE(turn.certKeyCiphertext.has_value());
    REQUIRE(beforeRotation.keyIdOf(*turn.certKeyCiphertext) == idA);

    // Meanwhile rotate-kek and its rerun: the lease is no row lock, the order's key is
    // re-sealed under B.
    Database admin(db.url());
    CHECK(rotateKeyEncryptionKey(admin, rotationRing) == 2);  // the account's, the order's
    CHECK(rotateKeyEncryptionKey(admin, rotationRing) == 0);
    REQUIRE(db.text("SELECT cert_key_id FROM acme_orders WHERE id = " + quoted(order.orderId)) ==
            idB);

    storeCertificate(db, turn);
    const std::string where = " FROM certificates WHERE order_id = " + quoted(order.orderId);
    REQUIRE(db.text("SELECT count(*)::text" + where) == "1");
    const std::string keyId = db.text("SELECT key_id" + where);
    const std::string ciphertext = db.text("SELECT private_key_ciphertext" + where);
    // With the turn's copy: labelled A, and only A opens it.
    CHECK(keyId == idB);
    CHECK(rotationRing.keyIdOf(ciphertext) == keyId);  // labelled with the KEK that opens it
    CHECK(onlyB.decrypt(ciphertext) == "CERTIFICATE-KEY");
    CHECK(db.text("SELECT status FROM domains WHERE id = " + quoted(order.domainId)) == "active");
}

TEST_CASE("store certificate: an order row without its sealed key is an internal error and "
          "stores nothing") {
    const TempDir keks;
    const KeyEncryptor ring = KeyEncryptor::fromFile(kekFile(keks, "kek"));
    ScratchDatabase db("dnsh_rotate_store");
    db.migrate();
    const FinishedOrder order = finishedOrder(db, ring, false);
    const StoredOrder turn = turnStarted(db, order);

    std::string refusal = "none";
    std::string message;
    try {
        storeCertificate(db, turn);
    } catch (const Error& e) {
        refusal = e.code() == ErrorCode::Internal ? "internal" : "another code";
        message = e.what();
    }
    INFO(message);
    CHECK(refusal == "internal");
    CHECK(message.find("no sealed certificate key") != std::string::npos);
    // Rolled back whole: the order still live and the worker's, the domain still pending.
    CHECK(db.text("SELECT count(*)::text FROM certificates") == "0");
    CHECK(db.text("SELECT status || ' ' || step || ' ' || coalesce(lease_owner, '-') FROM "
                  "acme_orders WHERE id = " +
                  quoted(order.orderId)) == "processing await_order " + kWorker);
    CHECK(db.text("SELECT status FROM domains WHERE id = " + quoted(order.domainId)) ==
          "certificate_pending");
}
