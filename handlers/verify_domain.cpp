// POST /domains/{id}/verify -> 200 verified once the token is among the TXT records.
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "http/serve.hpp"

int main() {
    return dnsh::serve({"POST", "/domains/{id}/verify", false,
                        [](const dnsh::Request& request, dnsh::Context& context) {
                            const auto domain = dnsh::verifyDomain(
                                context.database, context.resolver, context.config.delegationZone,
                                request.param("id"));
                            return dnsh::jsonResponse(
                                200, dnsh::domainJson(domain, dnsh::viewSettings(context.database,
                                                                                 context.config)));
                        }});
}
