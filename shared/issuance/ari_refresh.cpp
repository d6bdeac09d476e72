#include "issuance/ari_refresh.hpp"

#include "core/error.hpp"
#include "db/sql.hpp"
#include "domain/domain_name.hpp"
#include "issuance/renewal_info.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

constexpr int kCertificatesPerPage = 200;

Poco::Int64 nowEpochMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// refreshAriNow for --all: one certificate's database timeout (rolled back, nothing stored; a
// deadlock PostgreSQL broke among them) does not end the run: it is reported with the others and
// the rest are still asked. A lost database does end it (the next page could not be read).
AriRefreshed refreshOrReport(Database& database, acme::Client& client,
                             std::chrono::milliseconds maxWait, const CurrentCertificate& current) {
    try {
        return refreshAriNow(database, client, maxWait, current);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::DatabaseTimeout) throw;
        return AriRefreshed{current, AriRefreshOutcome::NotRecorded, std::nullopt, e.what()};
    }
}

}  // namespace

AriRefreshed refreshAriNow(Database& database, acme::Client& client,
                           std::chrono::milliseconds maxWait, const CurrentCertificate& current) {
    AriRefreshed refreshed{current, AriRefreshOutcome::NotOffered, std::nullopt, ""};
    const auto advice = askRenewalInfo(client, current.certificate.leafPem, maxWait);
    if (!advice) return refreshed;
    refreshed.renewAtEpochMs = database.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).recordAri(current.certificate.certificateId,
                                             advice->renewAtEpochMs, advice->nextFetchMs);
    });
    if (!advice->renewAtEpochMs) {
        refreshed.outcome = AriRefreshOutcome::NotUsable;
        refreshed.detail = advice->problem;
    } else if (!refreshed.renewAtEpochMs) {
        refreshed.outcome = AriRefreshOutcome::RenewalRunning;
    } else {
        // RFC 9773 §4.2 step 3: "If the selected time is in the past, attempt renewal
        // immediately": renew_at has come, and the scheduler's scan (every second) starts it.
        refreshed.outcome = *refreshed.renewAtEpochMs <= nowEpochMs()
                                ? AriRefreshOutcome::DueNow
                                : AriRefreshOutcome::Scheduled;
    }
    logEvent(LogLevel::Debug, "renewalInfo refreshed",
             {{"domain_id", current.domainId},
              {"certificate_id", current.certificate.certificateId},
              {"outcome", std::string(toString(refreshed.outcome))}});
    return refreshed;
}

AriRefreshed refreshAriForDomain(Database& database, const ClientOfCa& clientOf,
                                 std::chrono::milliseconds maxWait, const std::string& domainId) {
    if (!isDomainId(domainId))
        throw Error(ErrorCode::NotFound, "domain " + domainId + " not found");
    const auto current = database.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).currentCertificate(domainId);
    });
    if (!current) {
        const bool exists = database.withSession([&](Poco::Data::Session& session) {
            return !runSql(session, "SELECT 1 FROM domains WHERE id = $1", {domainId}).empty();
        });
        if (!exists) throw Error(ErrorCode::NotFound, "domain " + domainId + " not found");
        throw Error(ErrorCode::BadRequest, "domain " + domainId + " has no certificate yet");
    }
    acme::Client* client = clientOf(current->certificate.caDirectory);
    if (client == nullptr)
        throw Error(ErrorCode::BadRequest,
                    "the CA that issued domain " + domainId + "'s certificate (" +
                        current->certificate.caDirectory + ") is no longer configured");
    return refreshAriNow(database, *client, maxWait, *current);
}

int refreshAriForAll(Database& database, acme::Client& client, const std::string& directoryUrl,
                     std::chrono::milliseconds maxWait,
                     const std::function<void(const AriRefreshed&)>& each) {
    int asked = 0;
    std::string after;
    for (;;) {
        const auto page = database.withSession([&](Poco::Data::Session& session) {
            return OrderStore(session).currentCertificates(directoryUrl, after,
                                                           kCertificatesPerPage);
        });
        for (const auto& current : page) {
            each(refreshOrReport(database, client, maxWait, current));
            ++asked;
        }
        if (page.size() < static_cast<std::size_t>(kCertificatesPerPage)) return asked;
        after = page.back().domainId;
    }
}

}  // namespace dnsh
