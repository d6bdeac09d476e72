#include "edge/edge_agent.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "config/kek_file.hpp"
#include "core/error.hpp"
#include "crypto/key_encryption.hpp"
#include "edge/edge_directory.hpp"
#include "edge/edge_source.hpp"
#include "edge/edge_sync.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kStopCheck{500};             // how soon SIGTERM is noticed
constexpr milliseconds kBatchWindow{200};           // notifications gathered into one batch
constexpr milliseconds kHeartbeatInterval{15'000};  // /metrics calls an agent live for 2 min
constexpr milliseconds kFirstBackoff{1'000};
constexpr milliseconds kLastBackoff{30'000};
constexpr milliseconds kLastHaproxyBackoff{10'000};  // a restarted HAProxy is caught up soon

void sleepUnlessStopped(milliseconds duration, const std::atomic<bool>& stop) {
    const auto until = Clock::now() + duration;
    while (!stop && Clock::now() < until)
        std::this_thread::sleep_for(
            std::min(kStopCheck, std::chrono::duration_cast<milliseconds>(until - Clock::now())));
}

}  // namespace

int runEdgeAgent(const EdgeSettings& settings, const EdgeAgentOptions& options,
                 const std::atomic<bool>& stop) {
    EdgeDirectory directory(settings.dir, settings.group, settings.reloadOn);
    const KeyEncryptor keys = keyEncryptorFromFiles(options.keyEncryptionKeyFile);
    EdgeSource source(options.databaseUrl, options.databaseLimits,
                      settings.listen && !options.once);
    EdgeSync sync(settings, directory, keys);
    logEvent(LogLevel::Info, "edge agent started",
             {{"edge_dir", settings.dir},
              {"agent", settings.agentName},
              {"haproxy", !settings.haproxySocket.empty()},
              {"listen", settings.listen}});

    auto nextReconcile = Clock::now();
    auto nextPoll = Clock::now() + settings.pollInterval;
    auto nextHeartbeat = Clock::now();
    auto nextHaproxyRetry = Clock::now();
    milliseconds backoff = kFirstBackoff;
    milliseconds haproxyBackoff = kFirstBackoff;
    long long cursor = 0;
    bool reconciled = false;
    // The names of a round that threw (a full disk, PostgreSQL gone mid-round): applied again
    // by the next one, since the poll's cursor may have moved past their events meanwhile.
    std::set<std::string> unfinishedNames;
    while (!stop) {
        try {
            if (Clock::now() >= nextReconcile) {
                const long long asOf = source.now();
                const EdgeRound round = sync.reconcile(source, asOf);
                cursor = asOf;
                reconciled = true;
                nextReconcile = Clock::now() + settings.reconcileInterval;
                nextPoll = Clock::now() + settings.pollInterval;
                if (options.once) {
                    source.heartbeat(sync.heartbeat(settings.agentName));
                    // A certificate HAProxy refused is not applied either (README: exit 1).
                    const bool notApplied = round.failed > 0 || sync.haproxyBehind() ||
                                            sync.haproxyRefusals() > 0;
                    return notApplied ? 1 : 0;
                }
            } else {
                auto wakeUp =
                    std::min({nextReconcile, nextPoll, nextHeartbeat, Clock::now() + kStopCheck});
                // A reload held back by EDGE_RELOAD_MIN_INTERVAL runs when its time comes.
                if (const auto reloadAt = sync.reloadAt()) wakeUp = std::min(wakeUp, *reloadAt);
                // So do failing domains' tries, a page after another.
                if (const auto retryAt = sync.failingRetryAt()) wakeUp = std::min(wakeUp, *retryAt);
                std::set<std::string> names = source.waitForNotifications(
                    std::max(milliseconds(0),
                             std::chrono::duration_cast<milliseconds>(wakeUp - Clock::now())));
                // A burst (200 certificates stored in one go) becomes one batch.
                const auto batchEnd = Clock::now() + kBatchWindow;
                while (!names.empty() && Clock::now() < batchEnd) {
                    const auto more = source.waitForNotifications(std::chrono::milliseconds(20));
                    if (more.empty()) break;
                    names.insert(more.begin(), more.end());
                }
                const long long asOf = source.now();
                if (Clock::now() >= nextPoll) {
                    const EdgeChanges changes = source.changesSince(cursor);
                    names.insert(changes.domainNames.begin(), changes.domainNames.end());
                    cursor = changes.cursorMicros;
                    nextPoll = Clock::now() + settings.pollInterval;
                }
                // Not applied (a KEK missing on this host, a full disk): tried again, less and
                // less often, so a cause the operator fixes takes effect without a reconcile;
                // a page of them per round (EdgeSync::failingDue).
                const std::set<std::string> due = sync.failingDue();
                names.insert(due.begin(), due.end());
                names.insert(unfinishedNames.begin(), unfinishedNames.end());
                unfinishedNames = names;
                if (!names.empty() || sync.roundUnfinished()) {
                    const bool finishing = sync.roundUnfinished();
                    const EdgeRound round = sync.apply(source, names, asOf);
                    unfinishedNames.clear();
                    // What it applied shows on /metrics at once, not at the next heartbeat.
                    if (round.written > 0 || round.removed > 0 || finishing)
                        nextHeartbeat = Clock::now();
                } else if (sync.haproxyBehind() && Clock::now() >= nextHaproxyRetry) {
                    if (sync.resyncHaproxy(asOf)) {
                        haproxyBackoff = kFirstBackoff;
                        nextHeartbeat = Clock::now();
                    } else {
                        nextHaproxyRetry = Clock::now() + haproxyBackoff;
                        haproxyBackoff = std::min(haproxyBackoff * 2, kLastHaproxyBackoff);
                    }
                }
                sync.retryHaproxyRefusals();
                sync.reloadIfDue();
            }
            if (Clock::now() >= nextHeartbeat) {
                source.heartbeat(sync.heartbeat(settings.agentName));
                nextHeartbeat = Clock::now() + kHeartbeatInterval;
            }
            backoff = kFirstBackoff;
        } catch (const Error& e) {
            if (e.code() != ErrorCode::DatabaseUnavailable) throw;
            // The files stay as they are; the cursor's poll catches up on what was missed.
            if (options.once) return 1;
            sleepUnlessStopped(backoff, stop);
            backoff = std::min(backoff * 2, kLastBackoff);
            nextPoll = Clock::now();
        } catch (const std::runtime_error& e) {
            logEvent(LogLevel::Error, "edge round failed, will retry",
                     {{"detail", errorDetail(e)}});
            if (options.once) return 1;
            // Still reporting while rounds fail: the failing count and an applied_through held
            // back say what is not delivered (README, "Reporting").
            if (reconciled && Clock::now() >= nextHeartbeat) {
                try {
                    source.heartbeat(sync.heartbeat(settings.agentName));
                    nextHeartbeat = Clock::now() + kHeartbeatInterval;
                } catch (const std::runtime_error&) {
                    // PostgreSQL unreachable too: the next round says so.
                }
            }
            sleepUnlessStopped(backoff, stop);
            backoff = std::min(backoff * 2, kLastBackoff);
        }
    }
    logEvent(LogLevel::Info, "edge agent stopped");
    return 0;
}

}  // namespace dnsh
