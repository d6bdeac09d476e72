#pragma once
// Our account at each configured CA (ACME_CAS, README "Several CAs"), in order of preference,
// and the one an order or certificate placed earlier belongs to.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "acme/call_budget.hpp"
#include "config/config.hpp"
#include "crypto/key_encryption.hpp"
#include "db/database.hpp"
#include "issuance/acme_account.hpp"

namespace dnsh {

class CaAccounts {
public:
    CaAccounts(Database& database, const Config& config, const KeyEncryptor& encryptor,
               CaCaller caller);
    CaAccounts(const CaAccounts&) = delete;
    CaAccounts& operator=(const CaAccounts&) = delete;

    // Every CA, most preferred first; never empty.
    const std::vector<std::unique_ptr<AcmeAccount>>& inPreference() const { return accounts_; }
    AcmeAccount& first() const { return *accounts_.front(); }
    // The account at the CA with this directory URL; nullptr when that CA is no longer
    // configured (an order placed before ACME_CAS changed).
    AcmeAccount* find(const std::string& directoryUrl) const;
    // Requests sent to every CA so far (for the timing fields of a log line).
    std::uint64_t requestCount() const;
    // The longest one request to a CA may take: ACME_HANDLER_TIMEOUT from an API handler,
    // ACME_SCHEDULER_TIMEOUT otherwise (the same for every CA).
    std::chrono::milliseconds requestTimeout() const { return first().requestTimeout(); }

private:
    std::vector<CaSettings> cas_;  // each account refers to its entry: filled once, never moved
    std::vector<std::unique_ptr<AcmeAccount>> accounts_;
};

// While it lives, `account`'s requests take their time from `budget` (nullptr: none, each
// request its own timeout); the budget before it is put back at the end.
class CallBudgetOn {
public:
    CallBudgetOn(AcmeAccount& account, acme::CallBudget* budget)
        : account_(account), previous_(account.callBudget()) {
        account_.setCallBudget(budget);
    }
    ~CallBudgetOn() { account_.setCallBudget(previous_); }
    CallBudgetOn(const CallBudgetOn&) = delete;
    CallBudgetOn& operator=(const CallBudgetOn&) = delete;

private:
    AcmeAccount& account_;
    acme::CallBudget* previous_;
};

// While it lives, every request to any CA of `cas` takes its time from `budget`
// (acme/call_budget.hpp): one budget for the whole of an issue-certificate call at the CAs,
// however many requests it sends (badNonce retries, one read per authorization) and however
// many CAs it tries, as LeaseKeptPerRequest keeps a scheduler's lease before each request. The
// accounts outlive the call (a handler process keeps them): the budgets before it are put back
// at the end.
class CallBudgetAtEveryCa {
public:
    CallBudgetAtEveryCa(const CaAccounts& cas, acme::CallBudget& budget);
    CallBudgetAtEveryCa(const CallBudgetAtEveryCa&) = delete;
    CallBudgetAtEveryCa& operator=(const CallBudgetAtEveryCa&) = delete;

private:
    std::deque<CallBudgetOn> set_;  // one per account (a deque: never moved)
};

}  // namespace dnsh
