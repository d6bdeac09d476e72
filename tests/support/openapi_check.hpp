#pragma once
// Checks an HTTP answer against the OpenAPI document (deploy/api/openapi.json), so the document
// cannot drift from what the service answers: the operation is found by matching the request path
// against the document's path templates, then the status must be documented, the Content-Type one
// of the documented media types, a JSON body must have every required field, with the
// documented JSON type, following $ref, nested objects and arrays, and a Retry-After or an
// X-Request-Id the answer carries must be declared by the documented response and fit its schema.
#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

namespace dnsh::test {

struct ObservedAnswer {
    std::string method;  // as sent, e.g. "GET"
    std::string path;    // as sent, query string allowed
    int status = 0;
    std::string contentType;  // "" when absent
    std::string body;
    // "" when absent; their initializers let callers that do not look at them leave them out.
    std::string retryAfter{};
    std::string requestId{};
};

class OpenApiDocument {
public:
    explicit OpenApiDocument(Poco::JSON::Object::Ptr document);

    // deploy/api/openapi.json of this checkout, read once.
    static const OpenApiDocument& ofProject();

    // What the answer does differently from the document; empty when it conforms.
    // A path the document does not have must get its NotFound response (404); a method its path
    // does not have, MethodNotAllowed (405) or lighttpd's NotImplemented (501). A HEAD answer
    // has no body, whatever its status, and the headers of its GET: its Retry-After is checked
    // against the head operation's response as a GET's is against the get operation's.
    std::vector<std::string> violations(const ObservedAnswer& answer) const;

private:
    Poco::JSON::Object::Ptr document_;
};

}  // namespace dnsh::test
