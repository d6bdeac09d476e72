#include "issuance/renewal_info.hpp"

#include <algorithm>
#include <chrono>

#include "crypto/random.hpp"
#include "domain/domain_repository.hpp"
#include "log/log.hpp"

namespace dnsh {

using std::chrono::milliseconds;

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
        const acme::HttpReply reply = client.getRenewalInfo(acme::ariCertId(leafPem));
        const acme::RenewalWindow window = acme::parseRenewalInfo(reply.body);
        advice.renewAtEpochMs = std::chrono::duration_cast<milliseconds>(
                                    acme::pickRenewalTime(window, randomUnit()).time_since_epoch())
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

bool refreshRenewalInfo(Database& database, acme::Client& client, const AriDue& due,
                        milliseconds maxWait) {
    try {
        client.directory();  // kept once read; askRenewalInfo reads it too
    } catch (const acme::AcmeError& e) {
        // The hold set by the claim keeps it from being asked in a loop.
        return !putsOffTheBatch(acme::ariErrorKind(e));
    }
    const auto advice = askRenewalInfo(client, due.leafPem, maxWait);
    if (!advice) return true;  // no renewalInfo: the claim's hold, as above
    database.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).recordAri(due.certificateId, advice->renewAtEpochMs,
                                      advice->nextFetchMs);
        return true;
    });
    return !advice->error || !putsOffTheBatch(*advice->error);
}

}  // namespace dnsh
