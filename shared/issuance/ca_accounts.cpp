#include "issuance/ca_accounts.hpp"

namespace dnsh {

CaAccounts::CaAccounts(Database& database, const Config& config, const KeyEncryptor& encryptor,
                       CaCaller caller)
    : cas_(configuredCas(config)) {
    for (const CaSettings& ca : cas_)
        accounts_.push_back(std::make_unique<AcmeAccount>(database, config, ca, encryptor, caller));
}

AcmeAccount* CaAccounts::find(const std::string& directoryUrl) const {
    for (const auto& account : accounts_)
        if (account->ca().directoryUrl == directoryUrl) return account.get();
    return nullptr;
}

std::uint64_t CaAccounts::requestCount() const {
    std::uint64_t sent = 0;
    for (const auto& account : accounts_) sent += account->requestCount();
    return sent;
}

CallBudgetAtEveryCa::CallBudgetAtEveryCa(const CaAccounts& cas, acme::CallBudget& budget) {
    for (const auto& account : cas.inPreference()) set_.emplace_back(*account, &budget);
}

}  // namespace dnsh
