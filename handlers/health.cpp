// GET /healthz -> 200 while the process serves (liveness: never a database round trip);
// GET /readyz -> 200 while PostgreSQL answers within kReadinessDeadline, else 503 (README
// "API"). lighttpd runs a process for each path, so /healthz never waits behind /readyz.
#include "db/database.hpp"
#include "http/serve.hpp"

int main() {
    auto ok = [] {
        Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
        body->set("status", "ok");
        return dnsh::jsonResponse(200, body);
    };
    return dnsh::serve(std::vector<dnsh::Endpoint>{
        {"GET", "/healthz", false, [&](const dnsh::Request&, dnsh::Context&) { return ok(); },
         dnsh::Access::Open},
        {"GET", "/readyz", false,
         [&](const dnsh::Request&, dnsh::Context& context) {
             dnsh::checkDatabase(context.database);  // Error(DatabaseUnavailable) -> 503
             return ok();
         },
         dnsh::Access::Open},
    });
}
