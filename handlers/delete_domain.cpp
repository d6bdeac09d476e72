// DELETE /domains/{id} -> 204; the domain, its orders, certificates and keys are gone.
#include "http/serve.hpp"
#include "issuance/issuer.hpp"

int main() {
    return dnsh::serve({"DELETE", "/domains/{id}", false,
                        [](const dnsh::Request& request, dnsh::Context& context) {
                            // One per process: the CA connection and the account stay warm across
                            // requests.
                            static dnsh::Issuer issuer(context.database, context.config,
                                                       context.resolver, dnsh::CaCaller::Handler);
                            issuer.deleteDomain(request.param("id"));
                            return dnsh::Response{204, "", {}};
                        }});
}
