// dnsh-admin ari-refresh: the CA's renewalInfo (RFC 9773) asked again now.
#include <csignal>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "acme/client.hpp"
#include "acme/transport.hpp"
#include "admin/operator_stop.hpp"
#include "dnsh_admin_commands.hpp"
#include "dnsh_admin_json_array.hpp"
#include "dnsh_admin_stdout.hpp"
#include "issuance/ari_refresh.hpp"
#include "issuance/ari_refresh_view.hpp"

namespace dnsh_admin {

namespace {

// An operator's signal, seen between two certificates of ari-refresh (admin/operator_stop.hpp).
class StoppedBySignal : public std::runtime_error {
public:
    explicit StoppedBySignal(int signal)
        : std::runtime_error("stopped by signal " + std::to_string(signal)), signal_(signal) {}
    int signal() const { return signal_; }

private:
    int signal_;
};

// ari-refresh's asking: every active domain's certificate at each CA (no `domainId`: --all),
// or the domain's at the CA that issued it; `report` sees each result as it comes.
void askAri(dnsh::Database& database, const dnsh::Config& config,
            const std::string& domainId,
            const std::vector<std::unique_ptr<dnsh::acme::Client>>& clients,
            const std::function<void(const dnsh::AriRefreshed&)>& report) {
    if (domainId.empty()) {
        for (const auto& client : clients)
            dnsh::refreshAriForAll(database, *client, client->directoryUrl(),
                                   config.ariMaxWait, report);
        return;
    }
    report(dnsh::refreshAriForDomain(
        database,
        [&](const std::string& directoryUrl) -> dnsh::acme::Client* {
            for (const auto& client : clients)
                if (client->directoryUrl() == directoryUrl) return client.get();
            return nullptr;
        },
        config.ariMaxWait, domainId));
}

}  // namespace

// ari-refresh ID|--all: renewalInfo asked now. Exit 0 when every answer was usable, 69
// (EX_UNAVAILABLE) when some were not (or the CA offers none), 65 for an unknown domain, 70
// (EX_SOFTWARE) when an answer could not be stored for one row's contention (--all goes on and
// reports it). --all stopped part way by the database's own failure (a full disk, a read-only or
// lost server, a statement timeout, three answers in a row not stored for contention: the table
// held) exits 75 (EX_TEMPFAIL): run it again once the database is back; one that never reached
// it exits 70.
// Each certificate is printed as it is asked, and flushed: a run that stops part way (an error,
// the database failing: its exit code; an operator's signal: 128 + the signal) has printed
// every certificate it asked, whose renew_at may have changed, the --json array closed only
// after a signal.
int ariRefresh(dnsh::Database& database, const dnsh::Config& config,
               const Poco::Util::AbstractConfiguration& options,
               const std::vector<std::string>& arguments) {
    const bool all = options.hasProperty("admin.all");
    if (all == (arguments.size() == 2)) {
        std::cerr << "usage: dnsh-admin ari-refresh DOMAIN_ID|--all [--json]\n";
        return EXIT_USAGE;
    }
    // A CA connection shut down at its deadline can still get a TLS alert written to it: that
    // fails the write, as in the scheduler, instead of ending the run part way (a closed stdout
    // then fails its writes too, and the run goes on storing what the CAs answer; its exit
    // code still reports the certificates, while a full disk makes a 0 74: the report is cut).
    std::signal(SIGPIPE, SIG_IGN);
    // Each certificate is asked about at the CA that issued it (RFC 9773 §4.1).
    std::vector<std::unique_ptr<dnsh::acme::Transport>> transports;
    std::vector<std::unique_ptr<dnsh::acme::Client>> clients;
    for (const auto& ca : dnsh::configuredCas(config)) {
        transports.push_back(
            std::make_unique<dnsh::acme::Transport>(ca.caBundle, config.acmeSchedulerTimeout));
        clients.push_back(
            std::make_unique<dnsh::acme::Client>(*transports.back(), ca.directoryUrl));
    }
    dnsh::catchOperatorStop();
    std::map<dnsh::AriRefreshOutcome, int> counts;
    int reported = 0;
    std::optional<JsonArrayOnStdout> items;
    if (json(options)) items.emplace();
    auto report = [&](const dnsh::AriRefreshed& refreshed) {
        ++counts[refreshed.outcome];
        ++reported;
        if (items)
            items->add(dnsh::ariRefreshedJson(refreshed));
        else
            std::cout << dnsh::ariRefreshedLine(refreshed) << "\n";
        std::cout.flush();  // kept, on the screen or in the file, even if it is killed
        stdoutWriteError();  // a failed write does not stop the run (exitCodeAfterOutput)
        if (const int number = dnsh::operatorStopSignal()) throw StoppedBySignal(number);
    };
    try {
        askAri(database, config, all ? std::string() : arguments[1], clients, report);
    } catch (const StoppedBySignal& stopped) {
        if (items) items->close();  // the array closed before the message
        std::cerr << "dnsh-admin ari-refresh: " << stopped.what() << " after " << reported
                  << " certificate(s), each printed above; the others were not asked\n";
        return 128 + stopped.signal();
    } catch (const dnsh::Error& failed) {
        // A database never reached (a wrong password, a pg_hba refusal, no sslrootcert: nothing
        // reported) is 70 as for every other command: a wrapper retrying on 75 would loop on it.
        if (!all || !failed.fromDatabase() || reported == 0) throw;
        // The array left open, as after any error (dnsh_admin_json_array.hpp). Not one
        // certificate's problem: the remaining answers could not be stored either.
        std::cerr << "dnsh-admin ari-refresh: " << failed.what() << "; stopped after "
                  << reported << " certificate(s), each printed above; the others were not "
                  << "asked: run it again once the database is back\n";
        return EXIT_TEMPFAIL;
    }
    if (items) items->close();
    if (all && !json(options)) {
        std::cout << "asked the CA about " << reported << " certificate(s):";
        for (const auto& [outcome, count] : counts)
            std::cout << " " << count << " " << dnsh::toString(outcome);
        std::cout << "\n";
    }
    // A lock timeout or deadlock on a certificate's rows (fewer than three in a row: more ended
    // the run, 75 above), yet 70, not 75 as for other commands (README "Operator commands"): the
    // run went on, and its exit reports certificates left as they were, as 69 does.
    if (counts.count(dnsh::AriRefreshOutcome::NotRecorded) > 0) return EXIT_SOFTWARE;
    const bool unusable = counts.count(dnsh::AriRefreshOutcome::NotUsable) > 0 ||
                          counts.count(dnsh::AriRefreshOutcome::NotOffered) > 0;
    return unusable ? EXIT_UNAVAILABLE : EXIT_OK;
}

}  // namespace dnsh_admin
