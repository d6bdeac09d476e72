// POST /domains {"domain_name": "...", "profile": "..."} -> 201 the new domain and its
// verification token. A profile is checked against the CA's directory first.
#include "domain/domain_json.hpp"
#include "http/json_body.hpp"
#include "http/serve.hpp"
#include "issuance/profiles.hpp"

int main() {
    return dnsh::serve(
        {"POST", "/domains", true, [](const dnsh::Request& request, dnsh::Context& context) {
             const auto body = dnsh::parseJsonObject(request.body);
             const auto name = dnsh::requireStringField(body, "domain_name");
             const auto profile = dnsh::optionalStringField(body, "profile");
             dnsh::rejectUnknownFields(body, {"domain_name", "profile"});
             return dnsh::jsonResponse(
                 201, dnsh::registrationJson(dnsh::registerDomainWithProfile(
                                                 context.database, context.config, name, profile),
                                             dnsh::viewSettings(context.database, context.config)));
         }});
}
