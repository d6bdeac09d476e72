// POST /domains {"domain_name": "...", "profile": "..."} -> 201 the new domain and its
// verification token. A profile is checked against the CA's directory first. With an
// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header-06), the retry of a request whose
// answer was lost gets that registration again (domain/registration.hpp).
#include "domain/domain_json.hpp"
#include "http/idempotency_key.hpp"
#include "http/json_body.hpp"
#include "http/serve.hpp"
#include "issuance/profiles.hpp"

int main() {
    return dnsh::serve(
        {"POST", "/domains", true, [](const dnsh::Request& request, dnsh::Context& context) {
             // The key is checked against its published format first (the draft's §5).
             const auto key = dnsh::parseIdempotencyKey(request.idempotencyKey);
             const auto body = dnsh::parseJsonObject(request.body);
             const auto name = dnsh::requireStringField(body, "domain_name");
             const auto profile = dnsh::optionalStringField(body, "profile");
             dnsh::rejectUnknownFields(body, {"domain_name", "profile"});
             return dnsh::jsonResponse(
                 201, dnsh::registrationJson(dnsh::registerDomainWithProfile(
                                                 context.database, context.config, name, profile,
                                                 key),
                                             dnsh::viewSettings(context.database, context.config)));
         }});
}
