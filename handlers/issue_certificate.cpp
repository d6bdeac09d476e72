// POST /domains/{id}/issue-certificate -> 202 the ACME order and the TXT value to publish.
#include "http/serve.hpp"
#include "issuance/issuance_json.hpp"
#include "issuance/issuer.hpp"

int main() {
    return dnsh::serve(
        {"POST", "/domains/{id}/issue-certificate", false,
         [](const dnsh::Request& request, dnsh::Context& context) {
             // One per process: the CA connection and the account stay warm across requests.
             static dnsh::Issuer issuer(context.database, context.config, context.resolver,
                                         dnsh::CaCaller::Handler);
             return dnsh::jsonResponse(
                 202, dnsh::issuanceJson(
                          issuer.start(request.param("id"), dnsh::IssueRequester::Client)));
         }});
}
