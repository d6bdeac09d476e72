// GET /domains?status=&limit=&cursor= -> 200 {items, next_cursor}: newest first, keyset pages.
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "http/serve.hpp"

int main() {
    return dnsh::serve(
        {"GET", "/domains", false, [](const dnsh::Request& request, dnsh::Context& context) {
             const auto page = dnsh::listDomains(context.database, request.query);
             return dnsh::jsonResponse(
                 200, dnsh::domainPageJson(page.items, page.nextCursor,
                                           dnsh::viewSettings(context.database, context.config)));
         }});
}
