#include "issuance/renewal_info.hpp"

#include <algorithm>
#include <chrono>

#include "acme/ari.hpp"
#include "crypto/random.hpp"
#include "domain/domain_repository.hpp"
#include "log/log.hpp"

namespace dnsh {

using std::chrono::milliseconds;

std::optional<AriAdvice> askRenewalInfo(acme::Client& client, const std::string& leafPem,
                                        milliseconds maxWait) {
    try {
        if (client.directory().renewalInfo.empty()) return std::nullopt;
    } catch (const acme::AcmeError&) {
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
        // §4.3.3: an error is a long-term one: keep the renew_at we have, ask again later.
        advice.problem = errorDetail(e);
        const auto* caError = dynamic_cast<const acme::AcmeError*>(&e);
        advice.unanswered = caError != nullptr && caError->unreachable();
        logEvent(LogLevel::Warn, "renewalInfo not usable", {{"detail", advice.problem}});
        advice.nextFetchMs =
            std::min<milliseconds>(acme::ariRetryAfter(std::nullopt), maxWait).count();
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
        return !e.unreachable();  // the hold set by the claim keeps it from being asked in a loop
    }
    const auto advice = askRenewalInfo(client, due.leafPem, maxWait);
    if (!advice) return true;  // no renewalInfo: the claim's hold, as above
    database.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).recordAri(due.certificateId, advice->renewAtEpochMs,
                                      advice->nextFetchMs);
        return true;
    });
    return !advice->unanswered;
}

}  // namespace dnsh
