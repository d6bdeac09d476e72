// The floor for tests/bench/api: a FastCGI responder that does no work at all and answers every
// request with the same body (DNSH_FLOOR_BODY, a real GET /domains/{id} answer, so both sides
// send the same bytes). Served by the same lighttpd with the same max-procs as the handlers, what
// it reaches is what lighttpd + FastCGI allow on this machine.
#include <fcgiapp.h>

#include <cstdlib>
#include <string>

int main() {
    const char* configured = std::getenv("DNSH_FLOOR_BODY");
    const std::string body = configured ? configured : "{}";
    const std::string response = "Status: 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                                 body;
    FCGX_Init();
    FCGX_Request request;
    FCGX_InitRequest(&request, 0, 0);
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(response.data(), static_cast<int>(response.size()), request.out);
        FCGX_Finish_r(&request);
    }
    return 0;
}
