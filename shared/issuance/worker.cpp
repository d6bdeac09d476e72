#include "issuance/worker.hpp"

#include "core/error.hpp"
#include "issuance/order_store.hpp"
#include "log/log.hpp"

namespace dnsh {

IssuanceWorker::IssuanceWorker(const Config& config, std::string owner)
    : config_(config),
      owner_(std::move(owner)),
      database_(config.databaseUrl),
      resolver_(DnsResolver::fromConfig(config)),
      issuer_(std::make_unique<Issuer>(database_, config_, resolver_)) {}

bool IssuanceWorker::runOnce() {
    std::optional<std::string> domainId;
    try {
        domainId = database_.withSession([&](Poco::Data::Session& session) {
            return OrderStore(session).claimDue(owner_, config_.leaseDuration.count());
        });
    } catch (const std::exception& e) {
        logEvent(LogLevel::Error, "claim failed", {{"worker", owner_}, {"detail", errorDetail(e)}});
        return false;
    }
    if (!domainId) return false;

    StepOutcome outcome{false, config_.pollInterval, "error"};
    const auto started = std::chrono::steady_clock::now();
    try {
        outcome = issuer_->advance(*domainId, owner_);
    } catch (const std::exception& e) {
        // Database or unexpected errors: the lease and the retry delay keep the domain safe.
        logEvent(LogLevel::Error, "step failed",
                 {{"domain_id", *domainId}, {"worker", owner_}, {"detail", errorDetail(e)}});
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    // Polls that found nothing new are debug; every step that moved the domain on is info.
    logEvent(outcome.step.rfind("await_", 0) == 0 ? LogLevel::Debug : LogLevel::Info, "step",
             {{"domain_id", *domainId}, {"step", outcome.step}, {"duration_ms", elapsed.count()}});
    if (!outcome.finished) {
        try {
            database_.withSession([&](Poco::Data::Session& session) {
                return OrderStore(session).release(*domainId, owner_, outcome.delay.count());
            });
        } catch (const std::exception& e) {
            logEvent(LogLevel::Error, "release failed",
                     {{"domain_id", *domainId}, {"detail", errorDetail(e)}});
        }
    }
    return true;
}

}  // namespace dnsh
