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
//     as the handlers leave it. Answers 201, like POST /domains;
//   - with DNSH_FLOOR_WRITE=row instead, that round trip is POST /domains' own statement
//     (kInsertDomainSql: a domains row with its rules, indexes and count trigger), with values
//     of the same shapes made without any work (the "row floor"): what the row costs PostgreSQL,
//     so that POST's ratio to it is the handler's own share.
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/process_priority.hpp"
#include "domain/registration.hpp"

namespace {

enum class Work { none, select, insert, insertDomainRow };

// The parameters of the request numbered `served` into `parameters` (kept from one request to
// the next, so that the floors allocate nothing new): none for a read; a name for the write
// floor; id, name, token, profile, delegation label and Idempotency-Key for the row floor, of the
// shapes the domains row's rules ask for (no profile and no key, as most POSTs). `mark` makes
// them unique across processes and runs.
void setParameters(Work work, const std::string& mark, const std::string& markHex,
                   unsigned long long served, std::vector<std::string>& parameters) {
    if (work == Work::insert) {
        parameters.resize(1);
        parameters[0] = mark;
        parameters[0] += std::to_string(served);
    } else if (work == Work::insertDomainRow) {
        // The id scattered as POST's random ids are (a counter's would always land on the
        // primary key's rightmost page, which PostgreSQL inserts into on a fast path): the
        // count mixed by splitmix64, unique per process as the mix is a bijection.
        std::uint64_t mixed = served * 0x9e3779b97f4a7c15ULL;
        mixed = (mixed ^ (mixed >> 30)) * 0xbf58476d1ce4e5b9ULL;
        mixed = (mixed ^ (mixed >> 27)) * 0x94d049bb133111ebULL;
        mixed ^= mixed >> 31;
        char counter[17];
        std::snprintf(counter, sizeof counter, "%016llx", static_cast<unsigned long long>(mixed));
        parameters.resize(6);
        parameters[0] = counter;  // id: 16 + 16 hexadecimal digits
        parameters[0] += markHex;
        // The name in order, as wrk's are for POST (a count per thread).
        std::snprintf(counter, sizeof counter, "%016llx", served);
        parameters[1].assign(1, 'r');
        parameters[1] += markHex;
        parameters[1] += counter;
        parameters[1] += ".row-floor.example";
        parameters[2] = parameters[0];  // token: 64
        parameters[2] += parameters[0];
        parameters[3].clear();  // no profile
        parameters[4] = parameters[0];  // delegation label: 32
        parameters[5].clear();          // no Idempotency-Key
    }
}

// One round trip; false when PostgreSQL did not answer (the responder then answers 503).
bool roundTrip(PGconn* connection, const std::vector<std::string>& parameters) {
    const char* values[6] = {};
    for (std::size_t i = 0; i < parameters.size() && i < 6; ++i) values[i] = parameters[i].c_str();
    PGresult* result = PQexecPrepared(connection, "floor", static_cast<int>(parameters.size()),
                                      values, nullptr, nullptr, 0);
    const bool answered = PQresultStatus(result) == PGRES_TUPLES_OK;
    PQclear(result);
    return answered;
}

const char* statementFor(Work work) {
    switch (work) {
        case Work::insert:
            return "INSERT INTO bench_floor_writes (name) VALUES ($1) RETURNING id, created_at";
        case Work::insertDomainRow:
            return dnsh::kInsertDomainSql;
        default:
            return "SELECT 1";
    }
}

}  // namespace

int main() {
    // lighttpd's raised priority is its own: the floors run at the handlers' priority.
    dnsh::leaveInheritedPriority();
    const char* configured = std::getenv("DNSH_FLOOR_BODY");
    const std::string body = configured ? configured : "{}";
    const char* writeKind = std::getenv("DNSH_FLOOR_WRITE");
    const bool write = writeKind != nullptr;
    const std::string response =
        std::string(write ? "Status: 201 Created" : "Status: 200 OK") +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    const std::string unavailable = "Status: 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    PGconn* connection = nullptr;
    Work work = Work::none;
    if (const char* url = std::getenv("DNSH_FLOOR_DATABASE_URL")) {
        work = !write ? Work::select
                      : std::string(writeKind) == "row" ? Work::insertDomainRow : Work::insert;
        connection = PQconnectdb(url);
        PQclear(PQprepare(connection, "floor", statementFor(work), 0, nullptr));
    }
    FCGX_Init();
    FCGX_Request request;
    FCGX_InitRequest(&request, 0, 0);
    const bool plainClose = std::getenv("DNSH_FLOOR_PLAIN_CLOSE") != nullptr;
    // The write floor's names: this process's pid and a count. The row floor's values: the
    // process's start time and pid in hexadecimal, then the count.
    const std::string mark = std::to_string(::getpid()) + "-";
    char markHex[17];
    std::snprintf(markHex, sizeof markHex, "%08llx%08llx",
                  static_cast<unsigned long long>(std::time(nullptr)) & 0xffffffffULL,
                  static_cast<unsigned long long>(::getpid()) & 0xffffffffULL);
    std::vector<std::string> parameters;
    unsigned long long served = 0;
    while (FCGX_Accept_r(&request) >= 0) {
        setParameters(work, mark, markHex, ++served, parameters);
        const bool failed = connection && !roundTrip(connection, parameters);
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
