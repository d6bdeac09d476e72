#include "issuance/persist_probe.hpp"

#include <chrono>

#include "log/log.hpp"

namespace dnsh {

PersistRecordUsable PersistProbe::question() {
    return [this](const std::string& name, const std::vector<std::string>& issuerDomains,
                  const std::string& accountUrl) {
        return usable(name, issuerDomains, accountUrl);
    };
}

bool PersistProbe::usable(const std::string& name, const std::vector<std::string>& issuerDomains,
                          const std::string& accountUrl) {
    PersistCheck check = checkPersistRecord(resolver_, name, issuerDomains, accountUrl,
                                            std::chrono::system_clock::now());
    const bool usable = check.usable();
    if (!usable && check.verdict.outcome != PersistOutcome::Missing)
        logEvent(LogLevel::Info, "dns-persist-01 record not usable; answering dns-01",
                 {{"domain_id", domainId_},
                  {"name", check.recordName},
                  {"outcome", check.lookupFailure ? std::string(toString(*check.lookupFailure))
                                                  : std::string(toString(check.verdict.outcome))},
                  {"detail", check.lookupFailure ? check.lookupDetail : check.verdict.detail}});
    // The first check that was not usable explains why dns-01 is asked for; else the last.
    if (!shown_ || shown_->usable()) shown_ = std::move(check);
    return usable;
}

std::optional<std::string> PersistProbe::checkJson() const {
    if (!shown_) return std::nullopt;
    return persistCheckJson(*shown_);
}

}  // namespace dnsh
