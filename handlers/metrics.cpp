// GET /metrics -> 200, the Prometheus text exposition format 0.0.4 (README "Metrics").
#include "config/config.hpp"
#include "http/serve.hpp"
#include "metrics/exposition.hpp"

int main() {
    return dnsh::serve({"GET", "/metrics", false, [](const dnsh::Request&, dnsh::Context& context) {
                            dnsh::Response response;
                            response.contentType = dnsh::kExpositionContentType;
                            // The configured CAs' series exist at 0 before their first order.
                            const auto cas = dnsh::configuredCaDirectories(context.config);
                            // WEBHOOK_URL as lighttpd passes it to the handlers (handler_env).
                            const auto webhooks = context.config.webhook.enabled()
                                                      ? dnsh::Webhooks::On
                                                      : dnsh::Webhooks::Off;
                            response.body =
                                context.database.withSession([&](Poco::Data::Session& session) {
                                    return dnsh::renderMetrics(session, cas, webhooks);
                                });
                            return response;
                        }});
}
