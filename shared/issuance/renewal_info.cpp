#include "issuance/renewal_info.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <chrono>

#include "crypto/certificate.hpp"
#include "crypto/random.hpp"
#include "domain/domain_repository.hpp"
#include "issuance/renewal_time.hpp"
#include "log/log.hpp"

namespace dnsh {

using std::chrono::milliseconds;
using Clock = std::chrono::system_clock;

namespace {

Clock::time_point fromRfc3339(const std::string& text) {
    int timeZoneDifferential = 0;
    const Poco::Timestamp at =
        Poco::DateTimeParser::parse(Poco::DateTimeFormat::ISO8601_FORMAT, text,
                                    timeZoneDifferential)
            .timestamp();
    return Clock::time_point(std::chrono::microseconds(at.epochMicroseconds()));
}

std::string rfc3339(Clock::time_point at) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
    return Poco::DateTimeFormatter::format(Poco::Timestamp(micros),
                                           Poco::DateTimeFormat::ISO8601_FORMAT);
}

// RFC 9773 §4.2 leaves the time to the client ("at a time of their choosing based on the
// suggested renewal window"), and nothing in it asks for one past the certificate's expiry. A
// window later than its last tenth (after its expiry even: a CA's bug, a stale answer of a cache
// in front of it) would let it lapse with no renewal tried and none failed to retry: it is
// renewed then at the latest (latestRenewal), the CA's window named in a warning.
Clock::time_point renewalTimeIn(const acme::RenewalWindow& window, const std::string& leafPem,
                                const std::string& certId, bool& windowTooLate) {
    const Clock::time_point picked = acme::pickRenewalTime(window, randomUnit());
    const IssuedCertificate certificate = parseCertificateChain(leafPem);
    const Clock::time_point latest =
        latestRenewal(fromRfc3339(certificate.notAfter), certificate.lifetime);
    windowTooLate = picked > latest;
    if (!windowTooLate) return picked;
    logEvent(LogLevel::Warn, "renewalInfo window too late; renewing earlier",
             {{"cert_id", certId},
              {"window_start", rfc3339(window.start)},
              {"window_end", rfc3339(window.end)},
              {"expires_at", certificate.notAfter},
              {"renew_at", rfc3339(latest)}});
    return latest;
}

}  // namespace

// A CA that did not answer, failed or rate-limited us would most likely do the same to the next
// certificate of the batch: in a mass revocation, an overloaded CA is not sent 19 more requests
// that each get a 503. A long-term error is the certificate's own (a 404 for its CertID, say).
bool putsOffTheBatch(acme::AriErrorKind kind) { return kind != acme::AriErrorKind::LongTerm; }

std::optional<AriAdvice> askRenewalInfo(acme::Client& client, const std::string& leafPem,
                                        milliseconds maxWait) {
    try {
        if (client.directory().renewalInfo.empty()) return std::nullopt;
    } catch (const acme::AcmeError&) {
        // Told apart from "no renewalInfo" only by callers that read the directory first.
        return std::nullopt;  // the directory is read again on the next order
    }
    AriAdvice advice;
    try {
        const std::string certId = acme::ariCertId(leafPem);
        const acme::HttpReply reply = client.getRenewalInfo(certId);
        const acme::RenewalWindow window = acme::parseRenewalInfo(reply.body);
        advice.renewAtEpochMs = std::chrono::duration_cast<milliseconds>(
                                    renewalTimeIn(window, leafPem, certId, advice.windowTooLate)
                                        .time_since_epoch())
                                    .count();
        advice.nextFetchMs = std::min<milliseconds>(acme::ariRetryAfter(reply.retryAfter), maxWait)
                                 .count();
    } catch (const std::exception& e) {
        // §4.3.3: keep the renew_at we have; ask again in minutes after a temporary error (or
        // when its Retry-After says), in 6 hours after a long-term one.
        advice.problem = errorDetail(e);
        advice.error = acme::ariErrorKind(e);
        const auto* caError = dynamic_cast<const acme::AcmeError*>(&e);
        const auto retry = acme::ariErrorRetry(
            *advice.error, caError != nullptr ? caError->retryAfter() : std::nullopt);
        advice.nextFetchMs = std::min<milliseconds>(retry, maxWait).count();
        logEvent(LogLevel::Warn, "renewalInfo not usable",
                 {{"detail", advice.problem},
                  {"error", std::string(acme::toString(*advice.error))},
                  {"next_fetch_in_s", static_cast<long long>(advice.nextFetchMs / 1000)}});
    }
    return advice;
}

std::optional<std::string> ariReplaces(Database& database, acme::Client& client,
                                       const StoredOrder& order) {
    if (!order.replacesCertificateId || client.directory().renewalInfo.empty())
        return std::nullopt;
    const std::string leaf = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).certificatePem(*order.replacesCertificateId);
    });
    if (leaf.empty()) return std::nullopt;
    return acme::ariCertId(leaf);
}

void putOffRenewalInfo(Database& database, const std::string& certificateId,
                       milliseconds maxWait) {
    database.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).recordAri(certificateId, std::nullopt, maxWait.count());
        return true;
    });
}

bool refreshRenewalInfo(Database& database, acme::Client& client, const AriDue& due,
                        milliseconds maxWait) {
    try {
        client.directory();  // kept once read; askRenewalInfo reads it too
    } catch (const acme::AcmeError& e) {
        // The hold set by the claim keeps it from being asked in a loop.
        return !putsOffTheBatch(acme::ariErrorKind(e));
    }
    const auto advice = askRenewalInfo(client, due.leafPem, maxWait);
    if (!advice) {
        // The directory, read, offers no renewalInfo (any more): nothing to ask now.
        putOffRenewalInfo(database, due.certificateId, maxWait);
        return true;
    }
    database.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).recordAri(due.certificateId, advice->renewAtEpochMs,
                                      advice->nextFetchMs);
        return true;
    });
    return !advice->error || !putsOffTheBatch(*advice->error);
}

}  // namespace dnsh
