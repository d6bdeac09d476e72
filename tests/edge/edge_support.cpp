#include "edge/edge_support.hpp"

#include <doctest/doctest.h>

#include "crypto/certificate.hpp"
#include "crypto/key_encryption.hpp"
#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

EdgeDomains::EdgeDomains() : database_("edge") {
    database_.migrate();
}

EdgeDomains::~EdgeDomains() = default;

std::string EdgeDomains::add(const std::string& name) {
    const std::string id = randomHex(16);
    run("INSERT INTO domains (id, domain_name, verification_token) VALUES (" + quoted(id) + ", " +
        quoted(name) + ", " + quoted(randomHex(32)) + ")");
    return id;
}

std::string EdgeDomains::certificateInsert(const std::string& domainId, const std::string& name,
                                           StoredCertificate& stored, const std::string& sealedKey,
                                           const std::string& kekFile) {
    TempDir dir;
    std::string names = "DNS:" + name;
    if (name.rfind("*.", 0) == 0) names += ",DNS:" + name.substr(2);
    const CommandResult made = runCommand(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "
        "/CN=edge-test -addext 'subjectAltName=" +
        names + "' -keyout " + dir.path() + "/key.pem -out " + dir.path() + "/cert.pem");
    REQUIRE_MESSAGE(made.exitCode == 0, made.output);
    const std::string leaf = readFile(dir.path() + "/cert.pem");
    std::string sealed = sealedKey;
    if (sealed.empty()) {
        const auto kek = KeyEncryptor::fromFile(
            kekFile.empty() ? requireEnv("KEY_ENCRYPTION_KEY_FILE") : kekFile);
        sealed = kek.encrypt(readFile(dir.path() + "/key.pem"));
    }
    stored.id = randomHex(16);
    stored.serial = certificateSerialHex(leaf);
    return "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
           "private_key_ciphertext, key_id, issued_at, expires_at) VALUES (" +
           quoted(stored.id) + ", " + quoted(domainId) + ", " + quoted(leaf) + ", '', " +
           quoted(sealed) + ", 'edge-test', now(), now() + interval '30 days');";
}

StoredCertificate EdgeDomains::storeCertificate(const std::string& domainId,
                                                const std::string& name) {
    StoredCertificate stored;
    run(certificateInsert(domainId, name, stored));
    return stored;
}

void EdgeDomains::remove(const std::string& id) {
    run("DELETE FROM domains WHERE id = " + quoted(id));
}

std::string numberedName(const std::string& label, int i, const std::string& parent) {
    std::string name = label;  // appended: GCC 12 misreads "literal" + std::string (-Wrestrict)
    name.append(std::to_string(i)).append(".").append(parent);
    return name;
}

std::string newestSerial(const std::string& domainId) {
    return certificateSerialHex(
        scalar("SELECT certificate_pem FROM certificates WHERE domain_id = " + quoted(domainId) +
               " AND superseded_at IS NULL"));
}

}  // namespace dnsh::test
