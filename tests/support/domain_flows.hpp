#pragma once
// Shared by the issuance end-to-end and the fault tests: a domain taken through the API
// (register, verify, issue, publish the TXT value, wait until active) and cleaned up however the
// case ends, plus the small waits, SQL quoting and command runs those cases need.
#include <chrono>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "support/http_client.hpp"

namespace dnsh::test {

inline const std::regex kHexId(R"(^[0-9a-f]{32}$)");          // domain, order, certificate ids
inline const std::regex kTxtValue(R"(^[A-Za-z0-9_-]{43}$)");  // base64url(SHA-256), unpadded

std::string readFile(const std::string& path);  // "" when it cannot be read

// Polls `done` until it holds or `timeout` passes; whether it held.
bool waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& done,
             std::chrono::milliseconds interval = std::chrono::milliseconds(150));

// A JSON content type and a JSON object body, whatever the status.
bool isJsonAnswer(const HttpResult& result);

struct CommandResult {
    int exitCode = -1;
    std::string output;  // stdout and stderr
};

// Runs a shell command to completion (openssl, dnsh-admin).
CommandResult runCommand(const std::string& command);

// A fresh directory, removed with all it holds when the case ends.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string write(const std::string& name, const std::string& content) const;  // its path

private:
    std::string path_;
};

struct TestDomain {
    std::string id;
    std::string name;
    std::string token;  // the verification token
    std::string challengeName() const { return "_acme-challenge." + name; }
};

// The domains' ids quoted and comma-separated, for "id IN (...)".
std::string idList(const std::vector<TestDomain>& domains);

// Fails what a case leaves in certificate_pending and clears its TXT records, however the case
// ends, so a later case's scheduler finds nothing of it. Declare it before any scheduler, so the
// schedulers are gone when it runs.
class Leftovers {
public:
    Leftovers() = default;
    ~Leftovers();
    Leftovers(const Leftovers&) = delete;
    Leftovers& operator=(const Leftovers&) = delete;

    void add(const TestDomain& domain) { domains_.push_back(domain); }

private:
    std::vector<TestDomain> domains_;
};

// POST /domains with a fresh name (and `profile`, unless empty); the case stops unless it is
// created pending.
TestDomain registerDomain(const std::string& prefix, Leftovers& leftovers,
                          const std::string& profile = "");

// Registered, its token published and verified through the API.
TestDomain verifiedDomain(const std::string& prefix, Leftovers& leftovers,
                          const std::string& profile = "");

// A domain "<prefix><hex>.<zone>" registered through the API, then made verified with an issue
// order the scheduler places itself, for zones the handlers' sandbox DNS does not serve (the
// precheck's zones: no verify through the API).
TestDomain orderedDomain(const std::string& zone, const std::string& prefix, Leftovers& leftovers);

// POST /domains/{id}/issue-certificate through lighttpd, whatever it answers.
HttpResult issueCertificate(const TestDomain& domain);

// issue-certificate that must be accepted (202); the TXT value the CA expects.
std::string startIssuance(const TestDomain& domain);

// Replaces what the challenge name holds (the verification token) by the ACME value.
void publish(const TestDomain& domain, const std::string& value);

// The placeholder the API shows where a domain's verification token would stand (README "API").
inline const std::string kTokenShown = "(the verification token)";

// The domain's own token is only in its registration answer: not in its view, not in the
// GET /domains page that lists it, not in `dnsh-admin show`, and not stored in its last check.
void checkTokenNotShown(const TestDomain& domain);

// "name=status (error); ..." for failure messages.
std::string statusSummary(const std::vector<TestDomain>& domains);

// Waits until every domain is active; gives up early when one of them failed.
void requireAllActive(const std::vector<TestDomain>& domains, std::chrono::milliseconds timeout);

// `openssl x509 -noout <arguments>` on the domain's newest stored certificate (-text, -ext ...).
CommandResult inspectCertificate(const TestDomain& domain, const std::string& arguments);

// The domain's latest certificate is stored with its key encrypted (not PEM), and that key,
// decrypted with the KEK, is the certificate's.
void checkStoredKeyMatches(const TestDomain& domain);

}  // namespace dnsh::test
