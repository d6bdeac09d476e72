// GET /metrics -> 200, the Prometheus text exposition format 0.0.4 (README "Metrics").
#include "http/serve.hpp"
#include "metrics/exposition.hpp"

int main() {
    return dnsh::serve({"GET", "/metrics", false, [](const dnsh::Request&, dnsh::Context& context) {
                            dnsh::Response response;
                            response.contentType = dnsh::kExpositionContentType;
                            response.body =
                                context.database.withSession([](Poco::Data::Session& session) {
                                    return dnsh::renderMetrics(session);
                                });
                            return response;
                        }});
}
