// dnsh-admin rotate-kek: every sealed key is re-encrypted under the new KEK in one transaction;
// a key sealed under an unknown KEK stops it with nothing changed.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "crypto/key_encryption.hpp"
#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/test_env.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

struct TempKek {
    std::string path = "/tmp/dnsh-kek-" + randomHex(6);
    TempKek() { std::ofstream(path) << randomHex(32) << "\n"; }
    ~TempKek() { std::remove(path.c_str()); }
};

// Runs dnsh-admin with the given current KEK; returns its exit status.
int admin(const std::string& currentKek, const std::string& arguments) {
    const std::string command = "KEY_ENCRYPTION_KEY_FILE=" + currentKek + " " +
                                requireEnv("DNSH_ADMIN_BIN") + " " + arguments + " >/dev/null 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string sealedOf(const std::string& domainId) {
    return scalar("SELECT private_key_ciphertext || ' ' || key_id FROM certificates WHERE domain_id = '" +
                  domainId + "'");
}

}  // namespace

TEST_CASE("rotate-kek re-encrypts every key under the new KEK, and refuses foreign ones") {
    const std::string stackKek = requireEnv("KEY_ENCRYPTION_KEY_FILE");
    const KeyEncryptor current = KeyEncryptor::fromFile(stackKek);
    const TempKek next;
    const KeyEncryptor replacement = KeyEncryptor::fromFile(next.path);

    // A certificate row whose key is sealed under the stack's KEK.
    const std::string domainId = randomHex(16);
    execute("INSERT INTO domains (id, domain_name, verification_token, status, verified_at) VALUES ('" +
            domainId + "', 'rotate-" + randomHex(4) + ".example', '" + randomHex(32) +
            "', 'verified', now())");
    execute("INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, private_key_ciphertext, "
            "key_id, issued_at, expires_at) VALUES ('" + randomHex(16) + "', '" + domainId +
            "', 'leaf', 'chain', '" + current.encrypt("KEY-MATERIAL") + "', '" + current.keyId() +
            "', now(), now() + interval '90 days')");

    REQUIRE(admin(stackKek, "rotate-kek --new-key-file " + next.path) == 0);
    const std::string rotated = sealedOf(domainId);
    const std::string ciphertext = rotated.substr(0, rotated.find(' '));
    CHECK(rotated.substr(rotated.find(' ') + 1) == replacement.keyId());
    CHECK(replacement.decrypt(ciphertext) == "KEY-MATERIAL");
    CHECK_THROWS(current.decrypt(ciphertext));
    CHECK(count("SELECT count(*) FROM certificates WHERE key_id = '" + current.keyId() + "'") == 0);

    // A key sealed under a third KEK: the rotation back fails as a whole.
    const TempKek stranger;
    const KeyEncryptor foreign = KeyEncryptor::fromFile(stranger.path);
    const std::string foreignDomain = randomHex(16);
    execute("INSERT INTO domains (id, domain_name, verification_token) VALUES ('" + foreignDomain +
            "', 'foreign-" + randomHex(4) + ".example', '" + randomHex(32) + "')");
    execute("INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, private_key_ciphertext, "
            "key_id, issued_at, expires_at) VALUES ('" + randomHex(16) + "', '" + foreignDomain +
            "', 'leaf', 'chain', '" + foreign.encrypt("OTHER") + "', '" + foreign.keyId() +
            "', now(), now())");
    CHECK(admin(next.path, "rotate-kek --new-key-file " + stackKek) != 0);
    CHECK(sealedOf(domainId) == rotated);  // nothing changed
    execute("DELETE FROM certificates WHERE domain_id = '" + foreignDomain + "'");

    // Back to the stack's KEK, so later tests can still open every key.
    CHECK(admin(next.path, "rotate-kek --new-key-file " + stackKek) == 0);
    CHECK(count("SELECT count(*) FROM certificates WHERE key_id = '" + replacement.keyId() + "'") == 0);
    CHECK(current.decrypt(sealedOf(domainId).substr(0, sealedOf(domainId).find(' '))) == "KEY-MATERIAL");
}
