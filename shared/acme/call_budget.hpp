#pragma once
// The time one caller's requests to the CAs may take together, whatever CA and however many
// requests (issue-certificate's, issuance/issue_start.cpp): each request is given what is left
// of it, at most its own timeout (Transport), and what the request took is spent from it; one
// that may not be sent twice (newAccount, newOrder, a deactivation) goes only with its whole
// timeout left, so that the budget never leaves its outcome unknown. Only
// the time at the CAs counts, not the DNS lookups or database work in between, which have
// budgets of their own. A caller that sets none (a scheduler worker, whose lease is kept
// before each request instead) is bounded per request only.
#include <chrono>

namespace dnsh::acme {

class CallBudget {
public:
    explicit CallBudget(std::chrono::milliseconds total) : total_(total), left_(total) {}
    CallBudget(const CallBudget&) = delete;
    CallBudget& operator=(const CallBudget&) = delete;

    std::chrono::milliseconds total() const { return total_; }
    // What is left, in whole milliseconds: 0 once spent (a request is given at least 1 ms).
    std::chrono::milliseconds left() const {
        const auto whole = std::chrono::floor<std::chrono::milliseconds>(left_);
        return whole.count() > 0 ? whole : std::chrono::milliseconds(0);
    }
    bool spent() const { return left().count() == 0; }
    void spend(std::chrono::steady_clock::duration took) { left_ -= took; }
    // A request was not sent, or was cut, for want of this budget: its failure says nothing of
    // whether the CA answers (a give-back after it still asks, issuance/ca_fallback.cpp).
    void markCut() { cut_ = true; }
    bool anyRequestCut() const { return cut_; }

private:
    std::chrono::milliseconds total_;
    std::chrono::steady_clock::duration left_;
    bool cut_ = false;
};

}  // namespace dnsh::acme
