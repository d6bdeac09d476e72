#pragma once
// Runs a handler executable as plain CGI (environment + stdin -> stdout), as lighttpd would not.
#include <map>
#include <string>

#include "support/http_client.hpp"

namespace dnsh::test {

struct CgiRequest {
    std::string method = "GET";
    std::string path;  // PATH_INFO
    std::string body;
    std::string contentType = "application/json";
    std::map<std::string, std::string>
        env;  // extra variables (HTTP_X_REQUEST_ID, CONTENT_LENGTH, ...)
};

// Runs handlerPath(handler) with DATABASE_URL, DNS_RESOLVER and DNS_TIMEOUT from the test
// environment plus request.env. The result's status comes from the "Status:" line.
HttpResult runCgi(const std::string& handler, const CgiRequest& request);

}  // namespace dnsh::test
