#include "domain/domain_json.hpp"

#include <algorithm>

#include "core/json_shape.hpp"
#include "core/json_text.hpp"
#include "dns/persist_record.hpp"
#include "dns/txt_check.hpp"
#include "domain/delegation.hpp"
#include "domain/domain_name.hpp"

namespace dnsh {

namespace {

void writeChallenges(JsonText& json, const std::vector<PendingChallenge>& challenges) {
    json.beginArray();
    for (const auto& challenge : challenges)
        json.beginObject()
            .member("challenge_domain", challenge.txtName)
            .member("expected_txt_value", challenge.txtValue)
            .endObject();
    json.endArray();
}

void writeRenewal(JsonText& json, const RenewalState& renewal) {
    json.beginObject().member("status", renewal.status);
    if (renewal.renewAt) json.member("renew_at", *renewal.renewAt);
    if (!renewal.challenges.empty()) {
        writeChallenges(json.key("challenges"), renewal.challenges);
        json.member("instructions", publishInstructions(renewal.challenges));
    }
    if (renewal.error) json.member("error", *renewal.error);
    if (renewal.errorCode) json.member("error_code", *renewal.errorCode);
    json.endObject();
}

// The domain view's delegation (README "Zero-touch: one CNAME, then nothing"): the one CNAME that
// makes issuance and renewal zero-touch.
void writeDelegation(JsonText& json, const Domain& domain, const std::string& zone) {
    json.beginObject()
        .member("record_name", challengeName(domain.domainName))
        .member("record_type", "CNAME")
        .member("record_value", delegationTarget(domain, zone))
        .member("status", domain.delegationStatus)
        .endObject();
}

// The dns-persist-01 record to publish once for each CA that offers it (draft-ietf-acme-dns-
// persist-00 §4), all at the one name: one TXT value per CA. A wildcard's base name and the
// wildcard share the record, which must then allow wildcards (§5).
void writePersist(JsonText& json, const Domain& domain, const std::vector<PersistOffer>& offers) {
    json.beginArray();
    for (const auto& offer : offers)
        json.beginObject()
            .member("record_name", persistRecordName(domain.domainName))
            .member("record_type", "TXT")
            .member("record_value", formatPersistRecord(offer.issuerDomain, offer.accountUrl,
                                                        isWildcard(domain.domainName)))
            .member("ca", offer.ca)
            .endObject();
    json.endArray();
}

// What every view ends with: the delegation CNAME and the persistent records, when offered.
void writeWays(JsonText& json, const Domain& domain, const ViewSettings& settings) {
    if (!settings.delegationZone.empty())
        writeDelegation(json.key("delegation"), domain, settings.delegationZone);
    if (!settings.persistOffers.empty())
        writePersist(json.key("persist"), domain, settings.persistOffers);
}

// A stored check that is a JSON object. Written by this service only; one that does not parse
// is simply not shown.
bool isJsonObject(const std::optional<std::string>& text) {
    return text && isJsonObjectText(*text);
}

// The domain view's checks: the last DNS check as stored (its key order: name, expected, seen,
// result, ...), the last CAA check as its "caa" member and the last dns-persist-01 record check
// as its "persist" member, once there is a DNS check (verify makes the first). The domain's own
// token is masked as the checks are when stored: rows stored before they were are shown so too.
std::optional<std::string> readableCheck(const Domain& domain) {
    if (!isJsonObject(domain.lastCheck)) return std::nullopt;
    std::string check = *domain.lastCheck;
    // Each is an object this service wrote: a member goes in before the closing brace.
    auto append = [&check](const std::string& key, const std::string& object) {
        const std::size_t close = check.find_last_of('}');
        const bool empty = check.find_first_not_of(" \t\r\n", check.find('{') + 1) == close;
        check = check.substr(0, close) + (empty ? "" : ",") + "\"" + key + "\":" + object + "}";
    };
    if (isJsonObject(domain.caaCheck)) append("caa", *domain.caaCheck);
    if (isJsonObject(domain.persistCheck)) append("persist", *domain.persistCheck);
    return withoutToken(std::move(check), domain.verificationToken);
}

void writeDomain(JsonText& json, const Domain& domain, const ViewSettings& settings) {
    json.beginObject()
        .member("id", domain.id)
        .member("domain_name", domain.domainName)
        .member("status", std::string(toString(domain.status)));
    if (domain.verifiedAt) json.member("verified_at", *domain.verifiedAt);
    json.member("created_at", domain.createdAt).member("updated_at", domain.updatedAt);
    if (domain.profile) json.member("profile", *domain.profile);
    if (domain.validationMethod)
        json.member("validation_method", std::string(toString(*domain.validationMethod)));
    if (domain.certificate) {
        json.key("certificate")
            .beginObject()
            .member("id", domain.certificate->id)
            .member("issued_at", domain.certificate->issuedAt)
            .member("expires_at", domain.certificate->expiresAt);
        if (domain.certificate->profile) json.member("profile", *domain.certificate->profile);
        if (domain.certificate->ca) json.member("ca", *domain.certificate->ca);
        json.endObject();
    }
    if (domain.status == DomainStatus::CertificatePending) {
        writeChallenges(json.key("challenges"), domain.challenges);
        // The first API's single fields repeat the first value; never an empty one.
        if (!domain.challenges.empty())
            json.member("challenge_domain", domain.challenges.front().txtName)
                .member("expected_txt_value", domain.challenges.front().txtValue);
    }
    if (domain.renewal) writeRenewal(json.key("renewal"), *domain.renewal);
    if (const auto check = readableCheck(domain)) json.key("checks").raw(*check);
    if (domain.status == DomainStatus::Failed)
        json.member("error", domain.error.value_or("certificate issuance failed"))
            .member("error_code", domain.errorCode.value_or("internal"));
    writeWays(json, domain, settings);
    json.endObject();
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

ViewSettings viewSettings(Database& database, const Config& config) {
    return {config.delegationZone, persistOffers(database, config)};
}

std::string domainJson(const Domain& domain, const ViewSettings& settings) {
    JsonText json;
    writeDomain(json, domain, settings);
    return json.take();
}

std::string registrationJson(const Domain& domain, const ViewSettings& settings) {
    const std::string& delegationZone = settings.delegationZone;
    const std::string txtName = challengeName(domain.domainName);
    std::string instructions =
        "Create a TXT record for " + txtName + " with value: " + domain.verificationToken;
    if (!delegationZone.empty())
        instructions +=
            ". Or, once for every future certificate, a CNAME record for " + txtName +
            " pointing to " +
            delegationTarget(domain, delegationZone) +
            ": the service then publishes every ACME value itself";
    if (!settings.persistOffers.empty())
        instructions +=
            ". For certificates with nothing to publish each time, also the TXT record "
            "under persist at " +
            persistRecordName(domain.domainName) +
            ", set once (ownership is still proven with the token)";
    JsonText json;
    json.beginObject()
        .member("id", domain.id)
        .member("domain_name", domain.domainName)
        .member("verification_token", domain.verificationToken)
        .member("status", std::string(toString(domain.status)))
        .member("challenge_domain", txtName)
        .member("instructions", instructions)
        .member("created_at", domain.createdAt);
    if (domain.profile) json.member("profile", *domain.profile);
    writeWays(json, domain, settings);
    return json.endObject().take();
}

std::string domainPageJson(const std::vector<Domain>& items,
                           const std::optional<std::string>& nextCursor,
                           const ViewSettings& settings) {
    JsonText json;
    json.beginObject().key("items").beginArray();
    for (const auto& domain : items) writeDomain(json, domain, settings);
    json.endArray().key("next_cursor");
    if (nextCursor)
        json.string(*nextCursor);
    else
        json.null();
    return json.endObject().take();
}

std::string certificateJson(const CertificateInfo& certificate) {
    JsonText json;
    json.beginObject()
        .member("id", certificate.id)
        .member("domain_id", certificate.domainId)
        .member("issued_at", certificate.issuedAt)
        .member("expires_at", certificate.expiresAt)
        .member("created_at", certificate.createdAt);
    // Only when its order named one (draft-ietf-acme-profiles); absent: the CA's default.
    if (certificate.profile) json.member("profile", *certificate.profile);
    // The CA that issued it (README "Several CAs"), by its directory URL.
    if (certificate.ca) json.member("ca", *certificate.ca);
    return json.endObject().take();
}

}  // namespace dnsh
