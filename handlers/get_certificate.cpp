// GET /domains/{id}/certificate -> 200 metadata of the newest certificate (never PEM or key).
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "http/serve.hpp"

int main() {
    return dnsh::serve({"GET", "/domains/{id}/certificate", false,
                        [](const dnsh::Request& request, dnsh::Context& context) {
                            const auto certificate =
                                dnsh::findNewestCertificate(context.database, request.param("id"));
                            return dnsh::jsonResponse(200, dnsh::certificateJson(certificate));
                        }});
}
