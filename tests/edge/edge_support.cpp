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
    return insertSql(domainId, leaf, "", sealed, stored);
}

std::string EdgeDomains::insertSql(const std::string& domainId, const std::string& leafPem,
                                   const std::string& chainPem, const std::string& sealedKey,
                                   StoredCertificate& stored) {
    stored.id = randomHex(16);
    stored.serial = certificateSerialHex(leafPem);
    return "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
           "private_key_ciphertext, key_id, issued_at, expires_at) VALUES (" +
           quoted(stored.id) + ", " + quoted(domainId) + ", " + quoted(leafPem) + ", " +
           quoted(chainPem) + ", " + quoted(sealedKey) +
           ", 'edge-test', now(), now() + interval '30 days');";
}

StoredCertificate EdgeDomains::storeCertificate(const std::string& domainId,
                                                const std::string& name) {
    StoredCertificate stored;
    run(certificateInsert(domainId, name, stored));
    return stored;
}

StoredCertificate EdgeDomains::storeIssued(const std::string& domainId,
                                           const std::string& leafPem,
                                           const std::string& chainPem,
                                           const std::string& keyPem) {
    const auto kek = KeyEncryptor::fromFile(requireEnv("KEY_ENCRYPTION_KEY_FILE"));
    StoredCertificate stored;
    run(insertSql(domainId, leafPem, chainPem, kek.encrypt(keyPem), stored));
    REQUIRE_FALSE(stored.serial.empty());
    return stored;
}

IssuedChain issueThroughIntermediate(const std::string& name) {
    TempDir dir;
    const std::string at = dir.path() + "/";
    // `req -x509 -CA` (OpenSSL 3) signs with the issuer's key; the default extensions make each
    // a CA (basicConstraints CA:TRUE) but the leaf, which says otherwise.
    const std::string newKey =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 ";
    const CommandResult made = runCommand(
        newKey + "-subj /CN=edge-test-root -keyout " + at + "root.key -out " + at +
        "root.pem 2>&1 && " + newKey + "-CA " + at + "root.pem -CAkey " + at +
        "root.key -subj /CN=edge-test-intermediate -keyout " + at + "intermediate.key -out " +
        at + "intermediate.pem 2>&1 && " + newKey + "-CA " + at + "intermediate.pem -CAkey " +
        at + "intermediate.key -subj /CN=edge-test -addext 'subjectAltName=DNS:" + name +
        "' -addext 'basicConstraints=critical,CA:FALSE' -keyout " + at + "leaf.key -out " + at +
        "leaf.pem 2>&1");
    REQUIRE_MESSAGE(made.exitCode == 0, made.output);
    return {readFile(at + "leaf.pem"), readFile(at + "intermediate.pem"),
            readFile(at + "root.pem"), readFile(at + "leaf.key")};
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
