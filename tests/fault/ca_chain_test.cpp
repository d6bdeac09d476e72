// The CA's certificate download (RFC 8555 §7.4.2), against the stand-in CA
// tests/support/stalled_ca.py --bad-answer chain-...: a download that is no PEM certificate chain
// of at most 10 certificates (RFC 8555 §9.1, acme/certificate_chain.hpp) is the CA's error:
// nothing stored (no certificates row, so nothing for GET .../certificate or the edge agent's
// HAProxy and nginx files), the download retried, and the order failed ca_refused once its step's
// time is up. One whose leaf is for another key or other names than the order's fails the order
// at once (downloading it again gets the same), nothing stored. The stand-in's own download (its
// leaf and its certificate) is stored, the domain active.
#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "fault/stand_in_issuance.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/scheduler_process.hpp"
#include "support/stalled_ca.hpp"

using namespace dnsh::test;
using namespace std::chrono_literals;

namespace {

std::string statusOf(const TestDomain& domain) {
    return scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id));
}

std::string certificatesOf(const TestDomain& domain) {
    return "FROM certificates WHERE domain_id = " + quoted(domain.id);
}

// How many PEM blocks `pem` begins.
std::size_t pemBlocks(const std::string& pem) {
    std::size_t blocks = 0;
    for (auto at = pem.find("-----BEGIN "); at != std::string::npos;
         at = pem.find("-----BEGIN ", at + 1))
        ++blocks;
    return blocks;
}

// What the domain holds now, for failure messages: its status, its order's error and, when one
// was stored, its certificate's chain.
std::string holding(const TestDomain& domain) {
    std::string text = statusSummary({domain});
    if (count("SELECT count(*) " + certificatesOf(domain)) > 0)
        text += "; a certificate stored, its chain of " +
                std::to_string(pemBlocks(scalar("SELECT chain_pem " + certificatesOf(domain)))) +
                " certificates after the leaf";
    return text;
}

// Issuance of a fresh domain, by a scheduler of its own, at the stand-in answering the download
// with --bad-answer `what`.
struct BadDownload {
    explicit BadDownload(const std::string& what)
        : ca({"--stall", "none", "--processing-polls", "0", "--bad-answer", what}),
          domain(verifiedDomain("ca-chain", leftovers)),
          scheduler(startIssuance(domain, {{"ACME_DIRECTORY", ca.directory()}})),
          orders("FROM acme_orders WHERE domain_id = " + quoted(domain.id)) {}

    // Waits (REQUIREd) until the domain settles, a certificate is stored, or `downloads`
    // downloads were refused (0: not counted).
    void waitSettled(int downloads) {
        REQUIRE_MESSAGE(waitFor(30s,
                                [&] {
                                    return statusOf(domain) != "certificate_pending" ||
                                           count("SELECT count(*) " + certificatesOf(domain)) >
                                               0 ||
                                           (downloads > 0 &&
                                            ca.requests("POST", "/cert/") >= downloads);
                                }),
                        holding(domain) << "\n" << describe(*scheduler));
    }

    std::string orderColumn(const std::string& column) const {
        return scalar("SELECT " + column + " " + orders);
    }

    Leftovers leftovers;
    StalledCa ca;
    const TestDomain domain;
    const std::unique_ptr<SchedulerProcess> scheduler;
    const std::string orders;  // the FROM clause of the domain's order
};

// The download refused and retried with nothing stored; then, the step's clock set back past
// await_order's day (kMaxIssuingWait), the next refusal fails the order. Its error.
std::string refusedDownload(const std::string& what) {
    BadDownload issuance(what);
    // Settled, or the download refused at least twice (retried, as the CA's errors are).
    issuance.waitSettled(2);
    INFO(holding(issuance.domain));
    INFO(describe(*issuance.scheduler));
    // Before: the leaf stored (with the 799 certificates after it, without the HTML, as read),
    // the domain active; a download with no PEM in it, or a leaf for another key, failed the
    // order at once as error_code internal.
    REQUIRE(count("SELECT count(*) " + certificatesOf(issuance.domain)) == 0);
    REQUIRE(statusOf(issuance.domain) == "certificate_pending");
    CHECK(issuance.scheduler->log().find("certificate download") != std::string::npos);
    execute("UPDATE acme_orders SET step_started_at = now() - interval '25 hours', "
            "next_attempt_at = now() WHERE domain_id = " + quoted(issuance.domain.id));
    REQUIRE_MESSAGE(waitFor(30s, [&] { return statusOf(issuance.domain) == "failed"; }),
                    holding(issuance.domain));
    CHECK(issuance.orderColumn("error_code") == "ca_refused");
    CHECK(count("SELECT count(*) " + certificatesOf(issuance.domain)) == 0);
    CHECK(issuance.ca.requests("POST", "/finalize/") == 1);  // one certificate issued, not two
    CHECK(issuance.scheduler->terminate() == 0);
    return issuance.orderColumn("error");
}

// A download whose leaf is not for the order (--bad-answer `what`): downloaded once, nothing
// stored, the order failed ca_refused without waiting out its step. Its error.
std::string refusedAtOnce(const std::string& what) {
    BadDownload issuance(what);
    issuance.waitSettled(0);
    INFO(holding(issuance.domain));
    INFO(describe(*issuance.scheduler));
    CHECK(statusOf(issuance.domain) == "failed");
    CHECK(issuance.orderColumn("error_code") == "ca_refused");
    CHECK(count("SELECT count(*) " + certificatesOf(issuance.domain)) == 0);
    CHECK(issuance.ca.requests("POST", "/cert/") == 1);
    CHECK(issuance.ca.requests("POST", "/finalize/") == 1);
    CHECK(issuance.scheduler->terminate() == 0);
    return issuance.orderColumn("error");
}

bool says(const std::string& error, const std::string& text) {
    return error.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("CA chain: the stand-in's own download, its leaf and its certificate, is stored") {
    Leftovers leftovers;
    StalledCa ca({"--stall", "none", "--processing-polls", "0"});
    const TestDomain domain = verifiedDomain("ca-chain-good", leftovers);
    const auto scheduler = startIssuance(domain, {{"ACME_DIRECTORY", ca.directory()}});
    requireAllActive({domain}, 30s);
    CHECK(pemBlocks(scalar("SELECT chain_pem " + certificatesOf(domain))) == 1);
    CHECK(ca.requests("POST", "/cert/") == 1);
    CHECK(scheduler->terminate() == 0);
}

TEST_CASE("CA chain: a download of 800 certificates is refused, nothing stored") {
    // Before: stored, the chain 799 certificates (about 440 KiB in every TLS handshake).
    const std::string error = refusedDownload("chain-too-long");
    CHECK(says(error, "holds 800 PEM blocks, more than 10 certificates"));
}

TEST_CASE("CA chain: a download with an HTML page after the leaf is refused, nothing stored") {
    // Before: the leaf stored with an empty chain (the page dropped), the domain active.
    CHECK(says(refusedDownload("chain-garbage"), "has text outside its PEM blocks"));
}

TEST_CASE("CA chain: a download that is no PEM (the leaf in DER) is the CA's error") {
    // Before: "internal error: no certificate in the chain", failed internal after 3 attempts.
    CHECK(says(refusedDownload("chain-not-pem"), "is no PEM text"));
}

TEST_CASE("CA chain: an empty download is the CA's error") {
    // Before: as a download with no PEM, failed internal.
    CHECK(says(refusedDownload("chain-empty"), "holds no certificate"));
}

TEST_CASE("CA chain: a leaf for another key than the CSR's fails the order at once, ca_refused") {
    // Before: failed at once, error_code internal, "the issued certificate does not match our
    // key"; then, for a while, retried for up to a day as a download that is no chain.
    CHECK(says(refusedAtOnce("chain-wrong-key"), "for another public key"));
}

TEST_CASE("CA chain: a leaf that does not list the order's name fails the order at once") {
    // Before: stored, a certificate for other.example alone as the domain's, the domain active;
    // then, for a while, retried for up to a day as a download that is no chain.
    CHECK(says(refusedAtOnce("chain-other-names"), "does not list ca-chain"));
}
