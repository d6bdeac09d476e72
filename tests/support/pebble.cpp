#include "support/pebble.hpp"

#include <fstream>

#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>

#include <sstream>
#include <stdexcept>

#include "support/test_env.hpp"

namespace dnsh::test {

int ordersAtTheCa(const std::string& logName) {
    std::ifstream log(requireEnv("DNSH_TEST_LOG_DIR") + "/" + logName);
    int orders = 0;
    for (std::string line; std::getline(log, line);)
        if (line.find("Added order") != std::string::npos) ++orders;
    return orders;
}

namespace {

// One request to a Pebble management API (TLS with the test CA bundle); the body of a 200.
std::string managementCall(const std::string& url, const std::string& method,
                           const std::string& body) {
    Poco::Net::initializeSSL();
    const Poco::URI uri(url);
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, "", "", requireEnv("ACME_CA_BUNDLE"),
        Poco::Net::Context::VERIFY_STRICT, 9, false);
    Poco::Net::HTTPSClientSession session(uri.getHost(), uri.getPort(), context);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(method, uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("User-Agent", "dnsh-tests");  // Pebble -strict refuses requests without one
    if (!body.empty()) {
        request.setContentType("application/json");
        request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::string answer;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), answer);
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK)
        throw std::runtime_error("Pebble " + uri.getPath() + " answered " +
                                 std::to_string(response.getStatus()) + ": " + answer);
    return answer;
}

std::string rfc3339(std::chrono::system_clock::time_point time) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
    return Poco::DateTimeFormatter::format(Poco::Timestamp(micros), "%Y-%m-%dT%H:%M:%S.%iZ");
}

}  // namespace

std::string pebbleRootPem() {
    return managementCall(requireEnv("PEBBLE_MANAGEMENT") + "/roots/0", "GET", "");
}

void setPebbleRenewalInfo(const std::string& managementUrl, const std::string& leafPem,
                          const std::string& ariResponse) {
    // Pebble's body: {"certificate": PEM, "ariResponse": the renewalInfo text it then serves}.
    Poco::JSON::Object request;
    request.set("certificate", leafPem);
    request.set("ariResponse", ariResponse);
    std::ostringstream body;
    request.stringify(body);
    managementCall(managementUrl + "/set-renewal-info/", "POST", body.str());
}

std::string renewalInfoBody(std::chrono::system_clock::time_point start,
                            std::chrono::system_clock::time_point end) {
    return R"({"suggestedWindow":{"start":")" + rfc3339(start) + R"(","end":")" + rfc3339(end) +
           R"("}})";
}

}  // namespace dnsh::test
