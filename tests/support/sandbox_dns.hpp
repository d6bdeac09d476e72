#pragma once
// pebble-challtestsrv's management API (SANDBOX_DNS_API): publish and break DNS for a test.
// Host names are given without the trailing dot; these add it (challtestsrv requires it).
#include <functional>
#include <string>
#include <vector>

namespace dnsh::test {

void setTxt(const std::string& host, const std::string& value);  // adds a value
void clearTxt(const std::string& host);                          // removes all values
void setCname(const std::string& host, const std::string& target);
void clearCname(const std::string& host);
void setServfail(const std::string& host);
void clearServfail(const std::string& host);
// CAA records (flags 0; challtestsrv sends no others): one more at `host` each call.
void addCaa(const std::string& host, const std::string& tag, const std::string& value);
void clearCaa(const std::string& host);  // removes all of `host`
// What challtestsrv was asked about `host` (its /dns-request-history, kept until cleared): the
// QTYPE (RFC 1035 §3.2.2, TXT = 16) of every question, in order; and the clearing.
std::vector<int> dnsQuestionTypes(const std::string& host);
void clearDnsQuestions(const std::string& host);

// The sandbox records one test case sets, removed again when it ends (also when an assertion
// stops it), so later cases see a clean DNS.
class SandboxRecords {
public:
    SandboxRecords() = default;
    SandboxRecords(const SandboxRecords&) = delete;
    SandboxRecords& operator=(const SandboxRecords&) = delete;
    ~SandboxRecords();

    void txt(const std::string& host, const std::string& value);
    void cname(const std::string& host, const std::string& target);
    void servfail(const std::string& host);
    void caa(const std::string& host, const std::string& tag, const std::string& value);

private:
    std::vector<std::function<void()>> cleanups_;
};

}  // namespace dnsh::test
