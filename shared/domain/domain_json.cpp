#include "domain/domain_json.hpp"

#include <Poco/JSON/Parser.h>

#include <algorithm>

#include "domain/delegation.hpp"
#include "domain/domain_name.hpp"

namespace dnsh {

namespace {

Poco::JSON::Object::Ptr orderedObject() {
    return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

Poco::JSON::Array::Ptr challengesJson(const std::vector<PendingChallenge>& challenges) {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& challenge : challenges) {
        auto item = orderedObject();
        item->set("challenge_domain", challenge.txtName);
        item->set("expected_txt_value", challenge.txtValue);
        list->add(item);
    }
    return list;
}

Poco::JSON::Object::Ptr renewalJson(const RenewalState& renewal) {
    auto json = orderedObject();
    json->set("status", renewal.status);
    if (renewal.renewAt) json->set("renew_at", *renewal.renewAt);
    if (!renewal.challenges.empty()) {
        json->set("challenges", challengesJson(renewal.challenges));
        json->set("instructions", publishInstructions(renewal.challenges));
    }
    if (renewal.error) json->set("error", *renewal.error);
    if (renewal.errorCode) json->set("error_code", *renewal.errorCode);
    return json;
}

// DESIGN.md "The domain view": the one CNAME that makes issuance and renewal zero-touch.
Poco::JSON::Object::Ptr delegationJson(const Domain& domain, const std::string& zone) {
    auto json = orderedObject();
    json->set("record_name", challengeName(domain.domainName));
    json->set("record_type", "CNAME");
    json->set("record_value", delegationTarget(domain.verificationToken, domain.domainName, zone));
    json->set("status", domain.delegationStatus);
    return json;
}

}  // namespace

std::string publishInstructions(const std::vector<PendingChallenge>& challenges) {
    if (challenges.empty())
        return "Nothing to publish: the CA already holds a valid authorization for this domain.";
    // Grouped by name: a wildcard with its base name has two values at one name, and the CA
    // checks each of them, so both records must be there at once.
    std::vector<std::pair<std::string, std::vector<std::string>>> byName;
    for (const auto& challenge : challenges) {
        auto found = std::find_if(byName.begin(), byName.end(), [&](const auto& entry) {
            return entry.first == challenge.txtName;
        });
        if (found == byName.end()) found = byName.insert(byName.end(), {challenge.txtName, {}});
        found->second.push_back(challenge.txtValue);
    }
    std::string text;
    for (const auto& [name, values] : byName) {
        if (!text.empty()) text += "; ";
        if (values.size() == 1) {
            text += "Update the TXT record for " + name + " to: " + values.front();
            continue;
        }
        text += "Publish " + std::to_string(values.size()) + " TXT records for " + name +
                " (one per value, all at once):";
        for (const auto& value : values) text += " " + value;
    }
    return text;
}

Poco::JSON::Object::Ptr domainJson(const Domain& domain, const std::string& delegationZone) {
    auto json = orderedObject();
    json->set("id", domain.id);
    json->set("domain_name", domain.domainName);
    json->set("status", std::string(toString(domain.status)));
    if (domain.verifiedAt) json->set("verified_at", *domain.verifiedAt);
    json->set("created_at", domain.createdAt);
    json->set("updated_at", domain.updatedAt);
    if (domain.certificate) {
        auto certificate = orderedObject();
        certificate->set("id", domain.certificate->id);
        certificate->set("issued_at", domain.certificate->issuedAt);
        certificate->set("expires_at", domain.certificate->expiresAt);
        json->set("certificate", certificate);
    }
    if (domain.status == DomainStatus::CertificatePending) {
        json->set("challenges", challengesJson(domain.challenges));
        // The first API's single fields repeat the first value; never an empty one.
        if (!domain.challenges.empty()) {
            json->set("challenge_domain", domain.challenges.front().txtName);
            json->set("expected_txt_value", domain.challenges.front().txtValue);
        }
    }
    if (domain.renewal) json->set("renewal", renewalJson(*domain.renewal));
    if (domain.lastCheck) {
        try {
            // Keeps the stored key order (name, expected, seen, result, ...).
            Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
            json->set("checks", parser.parse(*domain.lastCheck));
        } catch (const Poco::Exception&) {
            // Written by this service only; an unreadable one is simply not shown.
        }
    }
    if (domain.status == DomainStatus::Failed) {
        json->set("error", domain.error.value_or("certificate issuance failed"));
        json->set("error_code", domain.errorCode.value_or("internal"));
    }
    if (!delegationZone.empty()) json->set("delegation", delegationJson(domain, delegationZone));
    return json;
}

Poco::JSON::Object::Ptr registrationJson(const Domain& domain, const std::string& delegationZone) {
    auto json = orderedObject();
    const std::string txtName = challengeName(domain.domainName);
    json->set("id", domain.id);
    json->set("domain_name", domain.domainName);
    json->set("verification_token", domain.verificationToken);
    json->set("status", std::string(toString(domain.status)));
    json->set("challenge_domain", txtName);
    std::string instructions =
        "Create a TXT record for " + txtName + " with value: " + domain.verificationToken;
    if (!delegationZone.empty())
        instructions +=
            ". Or, once for every future certificate, a CNAME record for " + txtName +
            " pointing to " +
            delegationTarget(domain.verificationToken, domain.domainName, delegationZone) +
            ": the service then publishes every ACME value itself";
    json->set("instructions", instructions);
    json->set("created_at", domain.createdAt);
    if (!delegationZone.empty()) json->set("delegation", delegationJson(domain, delegationZone));
    return json;
}

Poco::JSON::Object::Ptr domainPageJson(const std::vector<Domain>& items,
                                       const std::optional<std::string>& nextCursor,
                                       const std::string& delegationZone) {
    auto json = orderedObject();
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& domain : items) list->add(domainJson(domain, delegationZone));
    json->set("items", list);
    json->set("next_cursor", nextCursor ? Poco::Dynamic::Var(*nextCursor) : Poco::Dynamic::Var());
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
