// GET /domains/{id} -> 200 the domain and its status.
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "http/serve.hpp"

int main() {
    return dnsh::serve(
        {"GET", "/domains/{id}", false,
         [](const dnsh::Request& request, dnsh::Context& context) {
             return dnsh::jsonResponse(
                 200, dnsh::domainJson(dnsh::findDomain(context.database, request.param("id")),
                                       dnsh::viewSettings(context.database, context.config)));
         }},
        // Connected, the persist records read and the view's statement prepared (the last
        // statement the session ran, as tests/fault/warm_start_test.cpp sees it) before the
        // first request.
        [](dnsh::Context& context) {
            dnsh::viewSettings(context.database, context.config);
            dnsh::prepareFindDomain(context.database);
        });
}
