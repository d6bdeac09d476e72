// POST /domains {"domain_name": "..."} -> 201 the new domain and its verification token.
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "http/json_body.hpp"
#include "http/serve.hpp"

int main() {
    return dnsh::serve(
        {"POST", "/domains", true, [](const dnsh::Request& request, dnsh::Context& context) {
             const auto body = dnsh::parseJsonObject(request.body);
             const auto name = dnsh::requireStringField(body, "domain_name");
             dnsh::rejectUnknownFields(body, {"domain_name"});
             return dnsh::jsonResponse(
                 201, dnsh::registrationJson(dnsh::registerDomain(context.database, name),
                                             context.config.delegationZone));
         }});
}
