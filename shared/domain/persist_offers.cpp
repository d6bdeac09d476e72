#include "domain/persist_offers.hpp"

#include <algorithm>
#include <mutex>

#include "core/error.hpp"
#include "db/sql.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

// A CA that forgot our account (a sandbox Pebble restarted) gives a new URL: shown within this.
constexpr std::chrono::seconds kRereadAfter{10};
constexpr std::chrono::seconds kRereadWhileIncomplete{1};

struct Cache {
    std::mutex mutex;
    std::vector<PersistOffer> offers;
    bool complete = false;  // every configured CA's answer known (an offer, or none offered)
    std::chrono::steady_clock::time_point readAt{};
    bool read = false;
};

Cache& cache() {
    static Cache instance;
    return instance;
}

std::vector<PersistAccountRow> readRows(Database& database) {
    return database.withSession([](Poco::Data::Session& session) {
        const SqlRows rows =
            runSql(session,
                   "SELECT directory_url, coalesce(account_url, '') AS account_url, "
                   "coalesce(persist_issuer, '') AS persist_issuer, "
                   "persist_offered FROM acme_accounts");
        std::vector<PersistAccountRow> read;
        for (int row = 0; row < rows.size(); ++row) {
            PersistAccountRow account{rows.text(row, "directory_url"),
                                      rows.text(row, "account_url"),
                                      rows.text(row, "persist_issuer"), std::nullopt};
            if (!rows.isNull(row, "persist_offered"))
                account.offered = rows.boolean(row, "persist_offered");
            read.push_back(std::move(account));
        }
        return read;
    });
}

// A record can be given: our account is registered, the issuer known, and the CA's last
// authorization that decides it (if any was seen; AcmeAccount::notePersistOffer) offered it.
bool hasOffer(const PersistAccountRow& row) {
    return row.offered != false && !row.accountUrl.empty() && !row.persistIssuer.empty();
}

// Whether every CA has its answer: an offer, or an authorization that showed none.
bool allKnown(const std::vector<CaSettings>& cas, const std::vector<PersistAccountRow>& rows) {
    return std::all_of(cas.begin(), cas.end(), [&](const CaSettings& ca) {
        // No CA configured (a handler that issues nothing): nothing to wait for.
        return ca.directoryUrl.empty() ||
               std::any_of(rows.begin(), rows.end(), [&](const PersistAccountRow& row) {
                   return row.directoryUrl == ca.directoryUrl &&
                          (row.offered == false || hasOffer(row));
               });
    });
}

}  // namespace

std::vector<PersistOffer> persistOffersOf(const std::vector<CaSettings>& cas,
                                          const std::vector<PersistAccountRow>& rows) {
    std::vector<PersistOffer> offers;
    for (const auto& ca : cas)
        for (const auto& row : rows)
            if (row.directoryUrl == ca.directoryUrl && hasOffer(row))
                offers.push_back({ca.directoryUrl, row.persistIssuer, row.accountUrl});
    return offers;
}

std::vector<PersistOffer> persistOffers(Database& database, const Config& config) {
    Cache& cached = cache();
    std::lock_guard<std::mutex> lock(cached.mutex);
    const auto now = std::chrono::steady_clock::now();
    const auto age = cached.complete ? kRereadAfter : kRereadWhileIncomplete;
    if (cached.read && now - cached.readAt < age) return cached.offers;
    cached.readAt = now;
    cached.read = true;
    try {
        const std::vector<CaSettings> cas = configuredCas(config);
        const std::vector<PersistAccountRow> rows = readRows(database);
        cached.offers = persistOffersOf(cas, rows);
        cached.complete = allKnown(cas, rows);
    } catch (const std::exception& e) {
        logEvent(LogLevel::Warn, "persist records not read", {{"detail", errorDetail(e)}});
    }
    return cached.offers;
}

}  // namespace dnsh
