#include "domain/domain_json.hpp"

#include "domain/domain_name.hpp"

namespace dnsh {

namespace {

Poco::JSON::Object::Ptr orderedObject() {
    return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

}  // namespace

Poco::JSON::Object::Ptr domainJson(const Domain& domain) {
    auto json = orderedObject();
    json->set("id", domain.id);
    json->set("domain_name", domain.domainName);
    json->set("status", std::string(toString(domain.status)));
    if (domain.verifiedAt) json->set("verified_at", *domain.verifiedAt);
    json->set("created_at", domain.createdAt);
    json->set("updated_at", domain.updatedAt);
    if (domain.status == DomainStatus::CertificatePending && domain.challenge) {
        json->set("challenge_domain", domain.challenge->txtName);
        json->set("expected_txt_value", domain.challenge->txtValue);
    }
    if (domain.status == DomainStatus::Failed)
        json->set("error", domain.error.value_or("certificate issuance failed"));
    return json;
}

Poco::JSON::Object::Ptr registrationJson(const Domain& domain) {
    auto json = orderedObject();
    const std::string txtName = challengeName(domain.domainName);
    json->set("id", domain.id);
    json->set("domain_name", domain.domainName);
    json->set("verification_token", domain.verificationToken);
    json->set("status", std::string(toString(domain.status)));
    json->set("challenge_domain", txtName);
    json->set("instructions",
              "Create a TXT record for " + txtName + " with value: " + domain.verificationToken);
    json->set("created_at", domain.createdAt);
    return json;
}

Poco::JSON::Object::Ptr certificateJson(const CertificateInfo& certificate) {
    auto json = orderedObject();
    json->set("id", certificate.id);
    json->set("domain_id", certificate.domainId);
    json->set("issued_at", certificate.issuedAt);
    json->set("expires_at", certificate.expiresAt);
    json->set("created_at", certificate.createdAt);
    return json;
}

}  // namespace dnsh
