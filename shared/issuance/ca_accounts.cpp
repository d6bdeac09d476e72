#include "issuance/ca_accounts.hpp"

#include <cstddef>

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

CallBudgetAtEveryCa::CallBudgetAtEveryCa(const CaAccounts& cas, acme::CallBudget& budget)
    : cas_(cas) {
    for (const auto& account : cas_.inPreference()) {
        previous_.push_back(account->callBudget());
        account->setCallBudget(&budget);
    }
}

CallBudgetAtEveryCa::~CallBudgetAtEveryCa() {
    for (std::size_t i = 0; i < previous_.size(); ++i)
        cas_.inPreference()[i]->setCallBudget(previous_[i]);
}

}  // namespace dnsh
