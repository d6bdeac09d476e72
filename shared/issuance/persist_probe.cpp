#include "issuance/persist_probe.hpp"

#include <chrono>

#include "dns/persist_record.hpp"
#include "log/log.hpp"

namespace dnsh {

PersistRecordUsable PersistProbe::question() {
    return [this](const std::string& name, const std::vector<std::string>& issuerDomains,
                  const std::string& accountUrl) {
        const PersistCheck& check = checked(name, issuerDomains, accountUrl);
        // The first check that was not usable explains why dns-01 is asked for; else the last.
        if (!shown_ || shown_->usable()) shown_ = check;
        return check.usable();
    };
}

PersistCheck PersistProbe::checkBeforeOrder(const std::string& name,
                                            const std::vector<std::string>& issuerDomains,
                                            const std::string& accountUrl) {
    return checked(name, issuerDomains, accountUrl);
}

std::string whyNotUsable(const PersistCheck& check) {
    if (check.usable()) return "";
    return check.lookupFailure
               ? std::string(toString(*check.lookupFailure)) + ": " + check.lookupDetail
               : std::string(toString(check.verdict.outcome)) + ": " + check.verdict.detail;
}

const PersistCheck& PersistProbe::checked(const std::string& name,
                                          const std::vector<std::string>& issuerDomains,
                                          const std::string& accountUrl) {
    for (const auto& asked : asked_)
        if (asked.name == name && asked.issuerDomains == issuerDomains &&
            asked.accountUrl == accountUrl)
            return asked.check;
    PersistCheck check = persistCheckFrom(name, lookedUp(name), issuerDomains, accountUrl,
                                          std::chrono::system_clock::now());
    if (!check.usable() && check.verdict.outcome != PersistOutcome::Missing)
        logEvent(LogLevel::Info, "dns-persist-01 record not usable; answering dns-01",
                 {{"domain_id", domainId_},
                  {"name", check.recordName},
                  {"outcome", check.lookupFailure ? std::string(toString(*check.lookupFailure))
                                                  : std::string(toString(check.verdict.outcome))},
                  {"detail", check.lookupFailure ? check.lookupDetail : check.verdict.detail}});
    asked_.push_back({name, issuerDomains, accountUrl, std::move(check)});
    return asked_.back().check;
}

const TxtLookup& PersistProbe::lookedUp(const std::string& name) {
    // "x" and "*.x" share one record (draft §5).
    const std::string recordName = persistRecordName(name);
    for (const auto& record : lookedUp_)
        if (record.recordName == recordName) return record.lookup;
    lookedUp_.push_back({recordName, resolver_.lookupTxt(DnsName(recordName))});
    return lookedUp_.back().lookup;
}

std::optional<std::string> PersistProbe::checkJson() const {
    if (!shown_) return std::nullopt;
    return persistCheckJson(*shown_);
}

}  // namespace dnsh
