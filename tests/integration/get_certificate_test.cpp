// GET /domains/{id}/certificate through the get_certificate handler (CGI). Certificates are put
// into the database directly: issuing one is the end-to-end tests' business.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "integration_support.hpp"

namespace dnsh::test {

namespace {

constexpr const char* kPemMarker = "PEM-SECRET-MARKER";
constexpr const char* kChainMarker = "CHAIN-SECRET-MARKER";
constexpr const char* kKeyMarker = "KEY-CIPHERTEXT-SECRET-MARKER";

struct CertificateRow {
    std::string issuedAt;  // SQL timestamptz literals
    std::string expiresAt;
    std::string createdAt;  // empty: the column default, now()
};

// Inserts a certificate row for `domainId` and returns its id.
std::string insertCertificate(const std::string& domainId, const CertificateRow& row) {
    const std::string id = randomHex(16);
    execute(
        "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
        "private_key_ciphertext, key_id, issued_at, expires_at" +
        std::string(row.createdAt.empty() ? "" : ", created_at") + ") VALUES (" + quoted(id) +
        ", " + quoted(domainId) + ", " + quoted(kPemMarker) + ", " + quoted(kChainMarker) + ", " +
        quoted(kKeyMarker) + ", 'test', " + quoted(row.issuedAt) + ", " + quoted(row.expiresAt) +
        (row.createdAt.empty() ? "" : ", " + quoted(row.createdAt)) + ")");
    return id;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// Exactly the metadata, never the certificate, chain or key.
void checkCertificateBody(const HttpResult& result) {
    INFO("body: " << result.body);
    REQUIRE(result.status == 200);
    checkEnvelope(result);
    CHECK(keysOf(result.json()) ==
          std::set<std::string>{"id", "domain_id", "issued_at", "expires_at", "created_at"});
    for (const std::string field : {"issued_at", "expires_at", "created_at"})
        CHECK(std::regex_match(result.jsonString(field), rfc3339Utc()));
    for (const char* secret : {kPemMarker, kChainMarker, kKeyMarker})
        CHECK(result.body.find(secret) == std::string::npos);
    const std::string body = lower(result.body);
    for (const std::string word : {"private", "pem", "key", "chain", "ciphertext"})
        CHECK_MESSAGE(body.find(word) == std::string::npos, "body mentions " << word);
}

}  // namespace

TEST_CASE("get_certificate: a domain without a certificate is 404") {
    const RegisteredDomain domain = registerFreshDomain("cert-none");
    checkError(getCertificate(domain.id), 404, "no certificate");
}

TEST_CASE("get_certificate: the stored certificate's metadata, never its PEM or key") {
    const RegisteredDomain domain = registerFreshDomain("cert-one");
    // Offsets other than UTC prove the conversion: 05:04:05+02 is 03:04:05Z.
    const std::string certificateId =
        insertCertificate(domain.id, {"2026-01-02 05:04:05+02", "2026-04-01 22:04:05-05", ""});
    const HttpResult result = getCertificate(domain.id);
    checkCertificateBody(result);
    CHECK(result.jsonString("id") == certificateId);
    CHECK(result.jsonString("domain_id") == domain.id);
    CHECK(result.jsonString("issued_at") == "2026-01-02T03:04:05Z");
    CHECK(result.jsonString("expires_at") == "2026-04-02T03:04:05Z");
}

TEST_CASE("get_certificate: with several certificates the newest is returned") {
    struct Case {
        std::string description;
        std::vector<CertificateRow> rows;  // inserted in this order
        std::size_t newest;                // index of the one expected
    };
    const std::vector<Case> cases = {
        {"newest inserted last",
         {{"2026-01-01 00:00:00+00", "2026-04-01 00:00:00+00", "2026-01-01 00:00:01+00"},
          {"2026-03-01 00:00:00+00", "2026-06-01 00:00:00+00", "2026-03-01 00:00:01+00"}},
         1},
        {"newest inserted first (order by creation, not by insertion)",
         {{"2026-03-01 00:00:00+00", "2026-06-01 00:00:00+00", "2026-03-01 00:00:01+00"},
          {"2026-01-01 00:00:00+00", "2026-04-01 00:00:00+00", "2026-01-01 00:00:01+00"}},
         0},
        {"three, newest in the middle",
         {{"2026-01-01 00:00:00+00", "2026-04-01 00:00:00+00", "2026-01-01 00:00:01+00"},
          {"2026-05-01 00:00:00+00", "2026-08-01 00:00:00+00", "2026-05-01 00:00:01+00"},
          {"2026-03-01 00:00:00+00", "2026-06-01 00:00:00+00", "2026-03-01 00:00:01+00"}},
         1},
    };
    for (const Case& c : cases) {
        INFO(c.description);
        const RegisteredDomain domain = registerFreshDomain("cert-many");
        std::vector<std::string> ids;
        for (const CertificateRow& row : c.rows) ids.push_back(insertCertificate(domain.id, row));
        const HttpResult result = getCertificate(domain.id);
        checkCertificateBody(result);
        CHECK(result.jsonString("id") == ids[c.newest]);
        CHECK(result.jsonString("domain_id") == domain.id);
    }
}

TEST_CASE("get_certificate: another domain's certificate is not shown") {
    const RegisteredDomain withCertificate = registerFreshDomain("cert-owner");
    const RegisteredDomain without = registerFreshDomain("cert-other");
    insertCertificate(withCertificate.id, {"2026-01-01 00:00:00+00", "2026-04-01 00:00:00+00", ""});
    CHECK(getCertificate(withCertificate.id).status == 200);
    checkError(getCertificate(without.id), 404, "no certificate");
}

TEST_CASE("get_certificate: unknown or malformed domain ids are 404 domain not found") {
    for (const std::string& id : {randomHex(16), std::string("abc"), std::string(10240, 'f')}) {
        INFO("id " << id.substr(0, 40));
        const HttpResult result = getCertificate(id);
        checkError(result, 404, "domain not found");
        CHECK(result.jsonString("error") == "domain not found");
    }
}

TEST_CASE("get_certificate: other methods are 405 with Allow: GET, HEAD") {
    const RegisteredDomain domain = registerFreshDomain("cert-method");
    for (const std::string method : {"POST", "PUT", "DELETE"}) {
        INFO("method " << method);
        CgiRequest request;
        request.method = method;
        request.path = "/domains/" + domain.id + "/certificate";
        const HttpResult result = runCgi("get_certificate", request);
        checkError(result, 405, "use GET, HEAD");
        CHECK(result.header("Allow") == "GET, HEAD");
    }
}

}  // namespace dnsh::test
