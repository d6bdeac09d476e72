// GET /domains?status=&limit=&cursor= -> 200 {items, next_cursor}: newest first, keyset pages.
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "http/serve.hpp"

int main() {
    return dnsh::serve(
        {"GET", "/domains", false, [](const dnsh::Request& request, dnsh::Context& context) {
             // The one endpoint with query parameters parses them (400 for a malformed or
             // repeated one); every other endpoint ignores its query (http/request.hpp).
             const auto page = dnsh::listDomains(context.database,
                                                 dnsh::parseQueryString(request.queryString));
             return dnsh::jsonResponse(
                 200, dnsh::domainPageJson(page.items, page.nextCursor,
                                           dnsh::viewSettings(context.database, context.config)));
         }});
}
