// The floors for tests/bench/api: FastCGI responders served by the same lighttpd with the same
// max-procs as the handlers, answering every request with the same body (DNSH_FLOOR_BODY, a real
// GET /domains/{id} answer, so every side sends the same bytes).
//   - no work at all: what lighttpd + FastCGI allow on this machine;
//   - with DNSH_FLOOR_DATABASE_URL set, one round trip to PostgreSQL per request first (a
//     prepared `SELECT 1`, libpq, the connection kept): the least any handler that reads the
//     database pays, so the API can be compared with what a database read costs by itself.
#include <fcgiapp.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <string>

namespace {

// One round trip; false when PostgreSQL did not answer (the responder then answers 503).
bool selectOne(PGconn* connection) {
    PGresult* result = PQexecPrepared(connection, "floor", 0, nullptr, nullptr, nullptr, 0);
    const bool answered = PQresultStatus(result) == PGRES_TUPLES_OK;
    PQclear(result);
    return answered;
}

}  // namespace

int main() {
    const char* configured = std::getenv("DNSH_FLOOR_BODY");
    const std::string body = configured ? configured : "{}";
    const std::string response =
        "Status: 200 OK\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    const std::string unavailable = "Status: 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    PGconn* connection = nullptr;
    if (const char* url = std::getenv("DNSH_FLOOR_DATABASE_URL")) {
        connection = PQconnectdb(url);
        PQclear(PQprepare(connection, "floor", "SELECT 1", 0, nullptr));
    }
    FCGX_Init();
    FCGX_Request request;
    FCGX_InitRequest(&request, 0, 0);
    const bool plainClose = std::getenv("DNSH_FLOOR_PLAIN_CLOSE") != nullptr;
    while (FCGX_Accept_r(&request) >= 0) {
        const std::string& answer = connection && !selectOne(connection) ? unavailable : response;
        FCGX_PutStr(answer.data(), static_cast<int>(answer.size()), request.out);
        if (plainClose) {
            char rest[64];
            if (FCGX_GetStr(rest, sizeof rest, request.in) == 0 && FCGX_HasSeenEOF(request.in))
                FCGX_Detach(&request);
        }
        FCGX_Finish_r(&request);
    }
    return 0;
}
