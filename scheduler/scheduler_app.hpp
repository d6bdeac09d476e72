#pragma once
// dns-scheduler: a Poco ServerApplication (foreground for systemd; --daemon and --pidfile come
// with ServerApplication) running SCHEDULER_WORKERS issuance workers until SIGTERM, SIGINT or
// SIGQUIT (the first one: later ones wait, blocked, while the workers finish). SIGHUP is logged
// and ignored: the configuration is read only at start.
#include <Poco/Util/ServerApplication.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "config/config.hpp"
#include "core/idle_polling.hpp"

namespace dnsh {

class SchedulerApp : public Poco::Util::ServerApplication {
public:
    // Blocks SIGINT, SIGTERM, SIGQUIT and SIGHUP in the calling thread; main() calls it before
    // anything else, so that every thread inherits the mask and only main's sigwait takes them.
    static void blockWaitedSignals();

protected:
    void defineOptions(Poco::Util::OptionSet& options) override;
    void initialize(Poco::Util::Application& self) override;
    int main(const std::vector<std::string>& arguments) override;

private:
    void handleHelp(const std::string& name, const std::string& value);
    void handleConfigFile(const std::string& name, const std::string& value);
    // Runs a worker made by `make` (again after an error) until the scheduler stops; idle, it
    // looks for work as `polling` says (see IdlePolling) and its keepsLooking() asks.
    template <typename Worker, typename Make>
    void runUntilStopped(IdlePolling& polling, const std::string& owner, const char* what,
                         Make make);
    void workerLoop(int index);
    // WEBHOOK_WORKERS of these deliver the outbox when WEBHOOK_URL is set.
    void webhookLoop(int index);
    // Returns the first SIGINT, SIGTERM or SIGQUIT; logs each SIGHUP and goes on waiting.
    static int waitForStopSignal();
    // Waits up to `duration`, returning early (true) once stop was requested.
    bool sleepUnlessStopped(std::chrono::milliseconds duration);

    bool helpRequested_ = false;
    Config config_;
    // This process's name in leases and its heartbeat (issuance/replica_name.hpp), set in main().
    std::string replicaName_;
    std::atomic<bool> stopping_{false};
    std::mutex stopMutex_;
    std::condition_variable stopSignal_;
    // An idle worker looks for work every 100 ms; one idle worker of each kind, not all of them.
    static constexpr std::chrono::milliseconds kIdleInterval{100};
    IdlePolling orderPolling_{kIdleInterval};
    IdlePolling webhookPolling_{kIdleInterval};
};

}  // namespace dnsh
