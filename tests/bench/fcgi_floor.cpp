// The floors for tests/bench/api: FastCGI responders served by the same lighttpd with the same
// max-procs as the handlers, answering every request with the same body (DNSH_FLOOR_BODY, a real
// answer of the route it stands beside, so both sides send the same bytes).
//   - no work at all: what lighttpd + FastCGI allow on this machine;
//   - with DNSH_FLOOR_DATABASE_URL set, one round trip to PostgreSQL per request first (a
//     prepared `SELECT 1`, libpq, the connection kept): the least any handler that reads the
//     database pays, so the API can be compared with what a database read costs by itself;
//   - with DNSH_FLOOR_WRITE=1 as well, that round trip is one prepared
//     `INSERT ... RETURNING` into bench_floor_writes, committed on its own (autocommit): the
//     least a handler that stores a row pays, with the session's synchronous_commit untouched,
//     as the handlers leave it. Answers 201, like POST /domains.
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/process_priority.hpp"

namespace {

// One round trip; false when PostgreSQL did not answer (the responder then answers 503).
// `name` is the write floor's parameter (a name no other request of any process uses).
bool roundTrip(PGconn* connection, const std::string* name) {
    const char* values[1] = {name ? name->c_str() : nullptr};
    PGresult* result =
        PQexecPrepared(connection, "floor", name ? 1 : 0, values, nullptr, nullptr, 0);
    const bool answered = PQresultStatus(result) == PGRES_TUPLES_OK;
    PQclear(result);
    return answered;
}

}  // namespace

int main() {
    // lighttpd's raised priority is its own: the floors run at the handlers' priority.
    dnsh::leaveInheritedPriority();
    const char* configured = std::getenv("DNSH_FLOOR_BODY");
    const std::string body = configured ? configured : "{}";
    const bool write = std::getenv("DNSH_FLOOR_WRITE") != nullptr;
    const std::string response =
        std::string(write ? "Status: 201 Created" : "Status: 200 OK") +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    const std::string unavailable = "Status: 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    PGconn* connection = nullptr;
    if (const char* url = std::getenv("DNSH_FLOOR_DATABASE_URL")) {
        connection = PQconnectdb(url);
        PQclear(PQprepare(connection, "floor",
                          write ? "INSERT INTO bench_floor_writes (name) VALUES ($1) "
                                  "RETURNING id, created_at"
                                : "SELECT 1",
                          0, nullptr));
    }
    FCGX_Init();
    FCGX_Request request;
    FCGX_InitRequest(&request, 0, 0);
    const bool plainClose = std::getenv("DNSH_FLOOR_PLAIN_CLOSE") != nullptr;
    const std::string namePrefix = std::to_string(::getpid()) + "-";
    unsigned long long served = 0;
    while (FCGX_Accept_r(&request) >= 0) {
        const std::string name = namePrefix + std::to_string(++served);
        const bool failed = connection && !roundTrip(connection, write ? &name : nullptr);
        const std::string& answer = failed ? unavailable : response;
        FCGX_PutStr(answer.data(), static_cast<int>(answer.size()), request.out);
        if (plainClose) {
            // As the handlers: the body read to its end, then a plain close (serve.cpp).
            char rest[512];
            while (FCGX_GetStr(rest, sizeof rest, request.in) > 0) {
            }
            if (FCGX_HasSeenEOF(request.in)) FCGX_Detach(&request);
        }
        FCGX_Finish_r(&request);
    }
    return 0;
}
