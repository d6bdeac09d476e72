#include "scheduler_app.hpp"

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <iostream>
#include <thread>
#include <vector>

#include "db/database.hpp"
#include "domain/outbox.hpp"
#include "events/webhook_delivery.hpp"
#include "issuance/issuer.hpp"
#include "issuance/renewal_time.hpp"
#include "issuance/replica_name.hpp"
#include "issuance/worker.hpp"
#include "log/log.hpp"
#include "metrics/heartbeat.hpp"

namespace dnsh {

namespace {

constexpr std::chrono::milliseconds kErrorDelay{1000};

// What waitForStopSignal waits for: blocked in every thread, so that none of them dies of one.
sigset_t waitedSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    for (const int waited : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) sigaddset(&signals, waited);
    return signals;
}

const char* signalName(int number) {
    switch (number) {
        case SIGINT:
            return "SIGINT";
        case SIGTERM:
            return "SIGTERM";
        case SIGQUIT:
            return "SIGQUIT";
        default:
            return "SIGHUP";
    }
}

}  // namespace

void SchedulerApp::blockWaitedSignals() {
    const sigset_t signals = waitedSignals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int SchedulerApp::waitForStopSignal() {
    const sigset_t signals = waitedSignals();
    while (true) {
        int received = 0;
        if (sigwait(&signals, &received) != 0) continue;
        if (received != SIGHUP) return received;
        // Nothing to reload: the settings are read once, at start (a changed environment or
        // properties file is not seen by a running process either).
        logEvent(LogLevel::Warn,
                 "SIGHUP ignored: the configuration is read only at start; restart the scheduler "
                 "to apply a change");
    }
}

void SchedulerApp::defineOptions(Poco::Util::OptionSet& options) {
    ServerApplication::defineOptions(options);
    options.addOption(
        Poco::Util::Option("help", "h", "show this help")
            .callback(Poco::Util::OptionCallback<SchedulerApp>(this, &SchedulerApp::handleHelp)));
    options.addOption(Poco::Util::Option("config-file", "f",
                                         "properties file with the variables of the README "
                                         "(KEY=value); the environment wins")
                          .argument("FILE")
                          .callback(Poco::Util::OptionCallback<SchedulerApp>(
                              this, &SchedulerApp::handleConfigFile)));
}

void SchedulerApp::handleHelp(const std::string&, const std::string&) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand(commandName());
    help.setUsage("[--daemon] [--pidfile=FILE] [--config-file=FILE]");
    help.setHeader("Advances certificate_pending domains through their ACME orders.");
    help.format(std::cout);
    stopOptionsProcessing();
    helpRequested_ = true;
}

void SchedulerApp::handleConfigFile(const std::string&, const std::string& value) {
    loadConfiguration(value);
}

void SchedulerApp::initialize(Poco::Util::Application& self) {
    // A connection shut down at its deadline (a CA's, a webhook receiver's) can still get a TLS
    // alert written to it: that must fail the write, not end the process (as systemd's
    // IgnoreSIGPIPE= does for the service; set here for every other way it is started).
    std::signal(SIGPIPE, SIG_IGN);
    ServerApplication::initialize(self);
    if (helpRequested_) return;
    // The environment first, then the properties file for what the environment leaves unset.
    config_ = loadConfig([this](const std::string& name) -> std::optional<std::string> {
        if (auto value = processEnvironment(name)) return value;
        if (config().hasProperty(name)) return config().getString(name);
        return std::nullopt;
    });
    setLogLevel(config_.logLevel);
    // Every worker keeps trying while PostgreSQL is away: one line for the outage, not one a try.
    summarizeDatabaseOutages();
    if (config_.databaseUrl.empty()) throw ConfigError("DATABASE_URL is not set");
    loadKeyEncryptor(config_);  // refuse to start without the key-encryption key
    requireDelegationSettings(config_);
    requireDnsTimeoutWithinLease(config_);  // a lookup must end within the lease it extends
    requireWebhookSigningSecret(config_.webhook);  // it signs what the handlers write
    configureOutbox(config_);  // WEBHOOK_URL may come from the properties file
    // Allowed, as RENEW_BEFORE's 90% cap is: the fraction is raised, not refused.
    if (renewBeforeUnderTheFloor(config_.renewBefore))
        logEvent(LogLevel::Warn,
                 "RENEW_BEFORE is under 0.12 of the lifetime; renewing at a tenth plus a margin "
                 "instead",
                 {{"renew_before", config_.renewBefore.fraction}});
    if (apiOpenToNetwork(config_))
        logEvent(LogLevel::Warn,
                 "the API is open: SERVER_ADDR is not loopback and AUTH_TOKEN is empty",
                 {{"server_addr", config_.serverAddr}});
}

bool SchedulerApp::sleepUnlessStopped(std::chrono::milliseconds duration) {
    std::unique_lock<std::mutex> lock(stopMutex_);
    return stopSignal_.wait_for(lock, duration, [this] { return stopping_.load(); });
}

template <typename Worker, typename Make>
void SchedulerApp::runUntilStopped(IdlePolling& polling, const std::string& owner,
                                   const char* what, Make make) {
    std::unique_ptr<Worker> worker;
    while (!stopping_) {
        try {
            if (!worker) worker = make();
            // A step finishes before the loop looks at the stop flag again: in-flight work is
            // either completed or its lease simply runs out. Worker 0's scans look at it
            // between two items (IssuanceWorker's stopRequested).
            const bool worked = worker->runOnce();
            if (!polling.next(worked, worker->keepsLooking())) break;
        } catch (const std::exception& e) {
            // PostgreSQL unreachable: the database has logged it, once for the outage.
            if (!databaseUnreachable(e))
                logEvent(LogLevel::Error, what, {{"worker", owner}, {"detail", errorDetail(e)}});
            if (sleepUnlessStopped(kErrorDelay)) break;
        }
    }
}

void SchedulerApp::workerLoop(int index) {
    const std::string owner = replicaName_ + ":" + std::to_string(index);
    // Worker 0 also starts the due renewals (once a second, a cheap index scan): it looks every
    // interval when idle, the lookout of the others (IssuanceWorker::keepsLooking). Its other
    // scans (renewalInfo, the delegation sweep) wait on CAs and DNS servers: it hands the watch
    // on before them, and ends them between two items once the scheduler stops.
    runUntilStopped<IssuanceWorker>(orderPolling_, owner, "worker error", [&] {
        return std::make_unique<IssuanceWorker>(config_, owner, index == 0, &orderPolling_,
                                                [this] { return stopping_.load(); });
    });
}

void SchedulerApp::webhookLoop(int index) {
    const std::string owner = replicaName_ + ":webhook-" + std::to_string(index);
    runUntilStopped<WebhookDeliverer>(webhookPolling_, owner, "webhook worker error", [&] {
        return std::make_unique<WebhookDeliverer>(config_, owner, &webhookPolling_);
    });
}

int SchedulerApp::main(const std::vector<std::string>&) {
    if (helpRequested_) return EXIT_OK;
    // Here, not at construction: after --daemon's fork, before any worker reads it.
    replicaName_ = newReplicaName();
    logEvent(LogLevel::Info, "scheduler started",
             {{"replica", replicaName_},
              {"workers", config_.schedulerWorkers},
              {"acme_directory", config_.acmeDirectory},
              {"cas", describeCas(configuredCas(config_))},
              {"poll_interval_ms", config_.pollInterval.count()},
              {"poll_timeout_ms", config_.pollTimeout.count()},
              {"webhook_workers", config_.webhook.enabled() ? config_.webhook.workers : 0}});
    // Already blocked by main() before any thread (blockWaitedSignals); again here for a
    // program that runs the application otherwise: the threads below inherit the mask.
    blockWaitedSignals();
    const auto metrics = startSchedulerMetrics(config_, replicaName_);
    std::vector<std::thread> workers;
    for (int i = 0; i < config_.schedulerWorkers; ++i)
        workers.emplace_back([this, i] { workerLoop(i); });
    for (int i = 0; config_.webhook.enabled() && i < config_.webhook.workers; ++i)
        workers.emplace_back([this, i] { webhookLoop(i); });
    // Not Poco's waitForTerminationRequest: it blocks the signals only in this thread and only
    // now, so a second SIGTERM during the drain reached a worker and ended the process there,
    // and it ignores SIGHUP, whose default action ended it too.
    const int stopSignal = waitForStopSignal();
    logEvent(LogLevel::Info, "scheduler stopping", {{"signal", signalName(stopSignal)}});
    {
        std::lock_guard<std::mutex> lock(stopMutex_);
        stopping_ = true;
    }
    stopSignal_.notify_all();
    orderPolling_.stop();
    webhookPolling_.stop();
    for (auto& worker : workers) worker.join();
    logEvent(LogLevel::Info, "scheduler stopped");
    return EXIT_OK;
}

}  // namespace dnsh
