#include "issuance/persist_probe.hpp"

#include <chrono>

#include "db/database.hpp"
#include "db/sql.hpp"
#include "dns/persist_record.hpp"
#include "log/log.hpp"

namespace dnsh {

PersistClock databaseClock(Database& database) {
    return [&database] {
        const long long micros = database.withSession([](Poco::Data::Session& session) {
            return runSql(session, "SELECT now() AS database_now", {}, SqlResults::Binary)
                .unixMicros(0, "database_now");
        });
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::microseconds(micros)));
    };
}

PersistRecordUsable PersistProbe::question() {
    return [this](const std::string& name, const std::vector<std::string>& issuerDomains,
                  const std::string& accountUrl) {
        const PersistCheck check = checked(name, issuerDomains, accountUrl, std::nullopt);
        // The first check that was not usable explains why dns-01 is asked for; else the last.
        if (!shown_ || shown_->usable()) shown_ = check;
        return check.usable();
    };
}

PersistCheck PersistProbe::checkBeforeOrder(const std::string& name,
                                            const std::vector<std::string>& issuerDomains,
                                            const std::string& accountUrl,
                                            std::optional<DnsDeadline> deadline) {
    return checked(name, issuerDomains, accountUrl, deadline);
}

bool PersistProbe::publishedForEveryName(const std::vector<std::string>& names,
                                         std::optional<DnsDeadline> deadline) {
    if (names.empty()) return false;
    for (const auto& name : names) {
        bool cutShort = false;
        const TxtLookup lookup = lookedUp(name, deadline, cutShort);
        if (cutShort || lookup.outcome != LookupOutcome::Found || lookup.values.empty())
            return false;
    }
    return true;
}

std::string whyNotUsable(const PersistCheck& check) {
    if (check.usable()) return "";
    return check.lookupFailure
               ? std::string(toString(*check.lookupFailure)) + ": " + check.lookupDetail
               : std::string(toString(check.verdict.outcome)) + ": " + check.verdict.detail;
}

PersistCheck PersistProbe::checked(const std::string& name,
                                   const std::vector<std::string>& issuerDomains,
                                   const std::string& accountUrl,
                                   std::optional<DnsDeadline> deadline) {
    for (const auto& asked : asked_)
        if (asked.name == name && asked.issuerDomains == issuerDomains &&
            asked.accountUrl == accountUrl)
            return asked.check;
    bool cutShort = false;
    const TxtLookup lookup = lookedUp(name, deadline, cutShort);
    PersistCheck check =
        persistCheckFrom(name, lookup, issuerDomains, accountUrl, judgedAt(lookup));
    // No answer and no time left for one: the CAA precheck's failed lookup (424), nothing kept.
    if (cutShort) {
        lookupCutShort_ = true;
        return check;
    }
    if (!check.usable() && check.verdict.outcome != PersistOutcome::Missing)
        logEvent(LogLevel::Info, "dns-persist-01 record not usable; answering dns-01",
                 {{"domain_id", domainId_},
                  {"name", check.recordName},
                  {"outcome", check.lookupFailure ? std::string(toString(*check.lookupFailure))
                                                  : std::string(toString(check.verdict.outcome))},
                  {"detail", check.lookupFailure ? check.lookupDetail : check.verdict.detail}});
    asked_.push_back({name, issuerDomains, accountUrl, check});
    return check;
}

TxtLookup PersistProbe::lookedUp(const std::string& name, std::optional<DnsDeadline> deadline,
                                 bool& cutShort) {
    // "x" and "*.x" share one record (draft §5).
    const std::string recordName = persistRecordName(name);
    for (const auto& record : lookedUp_)
        if (record.recordName == recordName) return record.lookup;
    TxtLookup lookup = resolver_.lookupTxt(DnsName(recordName), deadline);
    cutShort = deadline && noAnswer(lookup.outcome) &&
               std::chrono::steady_clock::now() >= *deadline;
    if (!cutShort) lookedUp_.push_back({recordName, lookup});
    return lookup;
}

std::chrono::system_clock::time_point PersistProbe::judgedAt(const TxtLookup& lookup) {
    if (lookup.outcome != LookupOutcome::Found || !mayNamePersistUntil(lookup.values))
        return std::chrono::system_clock::now();
    // The database's clock, not this host's: a host ahead called a valid record expired (dns-01
    // asked of a customer who publishes nothing per order), one behind an expired one usable
    // (the CA refuses it). The monotonic clock carries the reading on, unmoved by clock steps.
    if (!clockRead_) clockRead_ = ClockReading{clock_(), std::chrono::steady_clock::now()};
    return clockRead_->read +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(
               std::chrono::steady_clock::now() - clockRead_->at);
}

std::optional<std::string> PersistProbe::checkJson() const {
    if (!shown_) return std::nullopt;
    return persistCheckJson(*shown_);
}

}  // namespace dnsh
