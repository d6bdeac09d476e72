#include "support/sandbox_dns.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>
#include <stdexcept>

#include "support/http_client.hpp"
#include "support/test_env.hpp"

namespace dnsh::test {

namespace {

void call(const std::string& path, const Poco::JSON::Object& body) {
    std::ostringstream text;
    body.stringify(text);
    const HttpResult result =
        sendToService(sandboxDnsApi(), {"POST", path, text.str(), "application/json", {}});
    if (result.status != 200)
        throw std::runtime_error("sandbox DNS " + path + " answered " +
                                 std::to_string(result.status) + ": " + result.body);
}

Poco::JSON::Object hostBody(const std::string& host) {
    Poco::JSON::Object body;
    body.set("host", host + ".");
    return body;
}

}  // namespace

void setTxt(const std::string& host, const std::string& value) {
    Poco::JSON::Object body = hostBody(host);
    body.set("value", value);
    call("/set-txt", body);
}

void clearTxt(const std::string& host) {
    call("/clear-txt", hostBody(host));
}

void setCname(const std::string& host, const std::string& target) {
    Poco::JSON::Object body = hostBody(host);
    body.set("target", target + ".");
    call("/set-cname", body);
}

void clearCname(const std::string& host) {
    call("/clear-cname", hostBody(host));
}
void setServfail(const std::string& host) {
    call("/set-servfail", hostBody(host));
}
void clearServfail(const std::string& host) {
    call("/clear-servfail", hostBody(host));
}

void addCaa(const std::string& host, const std::string& tag, const std::string& value) {
    // pebble-challtestsrv's /add-caa: {"host", "policies": [{"tag", "value"}]}.
    Poco::JSON::Object policy;
    policy.set("tag", tag);
    policy.set("value", value);
    Poco::JSON::Array policies;
    policies.add(policy);
    Poco::JSON::Object body = hostBody(host);
    body.set("policies", policies);
    call("/add-caa", body);
}
void clearCaa(const std::string& host) {
    call("/clear-caa", hostBody(host));
}

std::vector<int> dnsQuestionTypes(const std::string& host) {
    // The history is keyed by the question name without its trailing dot.
    Poco::JSON::Object body;
    body.set("host", host);
    std::ostringstream text;
    body.stringify(text);
    const HttpResult result = sendToService(
        sandboxDnsApi(), {"POST", "/dns-request-history", text.str(), "application/json", {}});
    if (result.status != 200)
        throw std::runtime_error("sandbox DNS /dns-request-history answered " +
                                 std::to_string(result.status) + ": " + result.body);
    // [{"Question": {"Name": "...", "Qtype": 16, "Qclass": 1}, "UserAgent": ""}, ...]
    const auto events = Poco::JSON::Parser().parse(result.body).extract<Poco::JSON::Array::Ptr>();
    std::vector<int> types;
    for (std::size_t i = 0; i < events->size(); ++i)
        types.push_back(events->getObject(i)->getObject("Question")->getValue<int>("Qtype"));
    return types;
}

void clearDnsQuestions(const std::string& host) {
    Poco::JSON::Object body;
    body.set("host", host);
    body.set("type", "dns");
    call("/clear-request-history", body);
}

SandboxRecords::~SandboxRecords() {
    for (auto it = cleanups_.rbegin(); it != cleanups_.rend(); ++it) {
        try {
            (*it)();
        } catch (const std::exception&) {
            // A failed clean-up must not hide the test's own result; names are unique anyway.
        }
    }
}

void SandboxRecords::txt(const std::string& host, const std::string& value) {
    setTxt(host, value);
    cleanups_.push_back([host] { clearTxt(host); });
}

void SandboxRecords::cname(const std::string& host, const std::string& target) {
    setCname(host, target);
    cleanups_.push_back([host] { clearCname(host); });
}

void SandboxRecords::servfail(const std::string& host) {
    setServfail(host);
    cleanups_.push_back([host] { clearServfail(host); });
}

void SandboxRecords::caa(const std::string& host, const std::string& tag,
                         const std::string& value) {
    addCaa(host, tag, value);
    cleanups_.push_back([host] { clearCaa(host); });
}

}  // namespace dnsh::test
