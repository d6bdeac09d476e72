// POST /domains/{id}/check -> 202 the domain; its pending DNS lookup runs now, not at the next
// poll.
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "http/serve.hpp"

int main() {
    return dnsh::serve({"POST", "/domains/{id}/check", false,
                        [](const dnsh::Request& request, dnsh::Context& context) {
                            const auto domain = dnsh::checkDomainNow(
                                context.database, context.config.pollInterval, request.param("id"));
                            return dnsh::jsonResponse(
                                202, dnsh::domainJson(domain, dnsh::viewSettings(context.database,
                                                                                 context.config)));
                        }});
}
