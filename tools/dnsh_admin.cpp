// dnsh-admin: operator commands (see --help): migrate, list, show, renew, ari-refresh, retry,
// delete, export-cert, rotate-kek, handler-procs, host-check. Settings come from the environment,
// as for the services.
#include <Poco/AutoPtr.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Util/Application.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionSet.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "acme/client.hpp"
#include "acme/transport.hpp"
#include "admin/admin_commands.hpp"
#include "admin/handler_processes.hpp"
#include "admin/host_check.hpp"
#include "admin/operator_stop.hpp"
#include "config/config.hpp"
#include "config/duration.hpp"
#include "core/error.hpp"
#include "core/failure_code.hpp"
#include "core/process_hardening.hpp"
#include "db/database.hpp"
#include "db/database_host.hpp"
#include "db/migrations.hpp"
#include "dns/resolver.hpp"
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "domain/outbox.hpp"
#include "issuance/ari_refresh.hpp"
#include "issuance/ari_refresh_view.hpp"
#include "issuance/issuance_json.hpp"
#include "issuance/issuer.hpp"
#include "log/log.hpp"

namespace {

// The options that only some commands take, by the property their binding sets.
struct CommandOption {
    std::string_view name;
    std::string_view property;
};
constexpr CommandOption kCommandOptions[] = {
    {"out", "admin.out"},       {"new-key-file", "admin.newKeyFile"},
    {"status", "admin.status"}, {"expiring-within", "admin.expiringWithin"},
    {"json", "admin.json"},     {"all", "admin.all"},
};

// What a command takes: the words after it and the options. Anything else is bad usage, refused
// before anything runs: an ignored word made `rotate-kek FILE` (without --new-key-file) re-seal
// under the current KEK and report success, and `list failed` list every domain.
struct CommandUsage {
    std::string_view name;
    std::size_t fewestWords;
    std::size_t mostWords;
    std::vector<std::string_view> options;
    std::string_view usage;
};
const std::vector<CommandUsage> kCommandUsages = {
    {"migrate", 0, 0, {}, "migrate"},
    {"list", 0, 0, {"status", "expiring-within", "json"},
     "list [--status S] [--expiring-within 30d] [--json]"},
    {"show", 1, 1, {"json"}, "show DOMAIN_ID [--json]"},
    {"renew", 1, 1, {}, "renew DOMAIN_ID"},
    {"ari-refresh", 0, 1, {"all", "json"}, "ari-refresh DOMAIN_ID|--all [--json]"},
    {"retry", 1, 1, {"json"}, "retry DOMAIN_ID [--json]"},
    {"delete", 1, 1, {}, "delete DOMAIN_ID"},
    {"export-cert", 1, 1, {"out"}, "export-cert DOMAIN_ID --out DIR"},
    {"rotate-kek", 0, 0, {"new-key-file"}, "rotate-kek [--new-key-file FILE]"},
    {"handler-procs", 0, 0, {}, "handler-procs"},
    {"host-check", 0, 0, {}, "host-check"},
};

bool caRateLimited(const dnsh::Error& error) {
    return error.errorCode() == dnsh::toString(dnsh::FailureCode::CaRateLimited);
}

// Exit codes of a failed command (README "Operating it"). A wait (the domain's, or the CA's
// rate limit just met) is 75: trying later helps, and the message says when.
int exitCodeOf(const dnsh::Error& error) {
    using App = Poco::Util::Application;
    if (caRateLimited(error)) return App::EXIT_TEMPFAIL;
    switch (error.code()) {
        case dnsh::ErrorCode::NotFound:
            return App::EXIT_DATAERR;
        case dnsh::ErrorCode::TooManyRequests:
            return App::EXIT_TEMPFAIL;
        default:
            return App::EXIT_SOFTWARE;
    }
}

// A JSON array written to stdout one item at a time (memory stays bounded). Closed only when the
// command finished or an operator stopped it (close()): a command an error ended part way leaves
// it unterminated, so that a script reading it fails rather than take a cut list (or "[]" from
// a database that never answered) for a whole one; the items written before it stay readable.
class JsonArrayOnStdout {
public:
    JsonArrayOnStdout() { std::cout << "["; }
    ~JsonArrayOnStdout() {
        if (!closed_) std::cout << "\n" << std::flush;
    }
    JsonArrayOnStdout(const JsonArrayOnStdout&) = delete;
    JsonArrayOnStdout& operator=(const JsonArrayOnStdout&) = delete;

    void add(const Poco::JSON::Object& item) {
        if (!empty_) std::cout << ",";
        empty_ = false;
        item.stringify(std::cout);
    }
    void close() {
        if (!closed_) std::cout << "]\n" << std::flush;
        closed_ = true;
    }

private:
    bool empty_ = true;
    bool closed_ = false;
};

// An operator's signal, seen between two certificates of ari-refresh (admin/operator_stop.hpp).
class StoppedBySignal : public std::runtime_error {
public:
    explicit StoppedBySignal(int signal)
        : std::runtime_error("stopped by signal " + std::to_string(signal)), signal_(signal) {}
    int signal() const { return signal_; }

private:
    int signal_;
};

class AdminApplication : public Poco::Util::Application {
protected:
    void defineOptions(Poco::Util::OptionSet& options) override {
        Poco::Util::Application::defineOptions(options);
        options.addOption(Poco::Util::Option("help", "h", "show this help")
                              .callback(Poco::Util::OptionCallback<AdminApplication>(
                                  this, &AdminApplication::handleHelp)));
        options.addOption(Poco::Util::Option("out", "o", "export-cert: directory to write into")
                              .argument("DIR")
                              .binding("admin.out"));
        options.addOption(Poco::Util::Option("new-key-file", "n", "rotate-kek: the new KEK file")
                              .argument("FILE")
                              .binding("admin.newKeyFile"));
        options.addOption(Poco::Util::Option("status", "s", "list: only domains of this status")
                              .argument("STATUS")
                              .binding("admin.status"));
        options.addOption(Poco::Util::Option("expiring-within", "e",
                                             "list: certificates expiring within (30d, 12h)")
                              .argument("DURATION")
                              .binding("admin.expiringWithin"));
        options.addOption(
            Poco::Util::Option("json", "j", "machine-readable output").binding("admin.json"));
        options.addOption(Poco::Util::Option("all", "a", "ari-refresh: every active domain")
                              .binding("admin.all"));
    }

    void handleHelp(const std::string&, const std::string&) {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("COMMAND [ARGS]");
        help.setHeader(
            "Operator commands for DNS Handling (settings from the environment, see README).\n"
            "Commands:\n"
            "  migrate                            apply the schema migrations to DATABASE_URL\n"
            "  list [--status S] [--expiring-within 30d] [--json]\n"
            "                                     every domain by soonest certificate expiry\n"
            "  show DOMAIN_ID [--json]            the domain view, as GET /domains/{id}\n"
            "  renew DOMAIN_ID                    renew the certificate now, whatever renew_at\n"
            "  ari-refresh DOMAIN_ID|--all [--json]\n"
            "                                     ask the CA's renewalInfo (RFC 9773) again now;\n"
            "                                     a window that has opened renews at once\n"
            "  retry DOMAIN_ID [--json]           a fresh order for a failed domain, at once:\n"
            "                                     only a CA's rate-limit wait holds it (exit 75)\n"
            "  delete DOMAIN_ID                   as DELETE /domains/{id}\n"
            "  export-cert DOMAIN_ID --out DIR    write cert.pem, chain.pem and key.pem (0600)\n"
            "  rotate-kek                         re-encrypt every private key under the first\n"
            "                                     file of KEY_ENCRYPTION_KEY_FILE (see README)\n"
            "  rotate-kek --new-key-file FILE     ... under FILE instead; then make FILE the\n"
            "                                     first of KEY_ENCRYPTION_KEY_FILE\n"
            "  handler-procs                      processes for each handler that only reads\n"
            "                                     PostgreSQL: DNSH_READ_HANDLER_PROCS, else\n"
            "                                     DNSH_HANDLER_PROCS, else the cores (fewer\n"
            "                                     under a cgroup CPU limit) when DATABASE_URL\n"
            "                                     is on this host, else 4\n"
            "                                     (README \"Configuration\")\n"
            "  host-check                         warn (stderr) of settings of this host that\n"
            "                                     hurt the service; start-api runs it\n"
            "                                     (README \"Running in production\")");
        help.format(std::cout);
        stopOptionsProcessing();
        helpRequested_ = true;
    }

    int main(const std::vector<std::string>& arguments) override {
        if (helpRequested_) return EXIT_OK;
        if (arguments.empty()) {
            std::cerr << "usage: dnsh-admin COMMAND (try --help)\n";
            return EXIT_USAGE;
        }
        if (!usageFits(arguments)) return EXIT_USAGE;
        try {
            // export-cert, rotate-kek, retry and delete open private keys.
            dnsh::disableCoreDumps();
            const dnsh::Config config = dnsh::loadConfig();
            dnsh::setLogLevel(config.logLevel);
            dnsh::configureOutbox(config);  // delete writes domain.deleted
            if (config.databaseUrl.empty()) throw dnsh::ConfigError("DATABASE_URL is not set");
            if (arguments[0] == "handler-procs") {
                // Reads DATABASE_URL only: no connection (start-api runs it before lighttpd).
                std::cout << dnsh::readHandlerProcessesToStart(config) << "\n";
                return EXIT_OK;
            }
            if (arguments[0] == "host-check") {
                // DATABASE_URL and /proc only, no connection: a warning never stops the start.
                for (const std::string& warning :
                     dnsh::hostWarnings(dnsh::databaseOnThisHost(config.databaseUrl),
                                        dnsh::sessionGroupsSetting()))
                    std::cerr << "warning: " << warning << "\n";
                return EXIT_OK;
            }
            dnsh::Database database(config.databaseUrl, config.databaseLimits);
            const std::string& command = arguments[0];
            if (command == "migrate") return migrate(database);
            if (command == "list") return list(database);
            if (command == "show") return show(database, config, arguments);
            if (command == "renew") return renew(database, arguments);
            if (command == "ari-refresh") return ariRefresh(database, config, arguments);
            if (command == "retry" || command == "delete")
                return issuerCommand(database, config, arguments);
            if (command == "export-cert") return exportCert(database, config, arguments);
            if (command == "rotate-kek") return rotateKek(database, config);
            // usageFits knows a command this does not dispatch.
            std::cerr << "dnsh-admin " << command << ": not dispatched\n";
            return EXIT_SOFTWARE;
        } catch (const dnsh::ConfigError& e) {
            std::cerr << "configuration error: " << e.what() << "\n";
            return EXIT_CONFIG;
        } catch (const dnsh::Error& e) {
            std::cerr << "dnsh-admin " << arguments[0] << ": " << e.what();
            // The CA's wait travels as the API's Retry-After, not in the message.
            if (caRateLimited(e) && e.retryAfter())
                std::cerr << " (try again in " << e.retryAfter()->count() << " s)";
            std::cerr << "\n";
            return exitCodeOf(e);
        } catch (const std::exception& e) {
            // errorDetail: a Poco exception's what() is only its class name ("Database Exception").
            std::cerr << "dnsh-admin " << arguments[0] << " failed: " << dnsh::errorDetail(e)
                      << "\n";
            return EXIT_SOFTWARE;
        }
    }

private:
    bool json() const { return config().hasProperty("admin.json"); }

    // The command is known, and takes the words and options given (kCommandUsages); else says
    // what is wrong and the command's usage on stderr.
    bool usageFits(const std::vector<std::string>& arguments) const {
        const std::string& command = arguments[0];
        const auto usage =
            std::find_if(kCommandUsages.begin(), kCommandUsages.end(),
                         [&](const CommandUsage& known) { return known.name == command; });
        if (usage == kCommandUsages.end()) {
            std::cerr << "unknown command: " << command << " (try --help)\n";
            return false;
        }
        bool fits = true;
        const std::size_t words = arguments.size() - 1;
        if (words > usage->mostWords) {
            std::cerr << "dnsh-admin " << command << ": unexpected argument "
                      << arguments[usage->mostWords + 1] << "\n";
            fits = false;
        } else if (words < usage->fewestWords) {
            fits = false;
        }
        for (const CommandOption& option : kCommandOptions) {
            if (!config().hasProperty(std::string(option.property))) continue;
            if (std::find(usage->options.begin(), usage->options.end(), option.name) !=
                usage->options.end())
                continue;
            std::cerr << "dnsh-admin " << command << ": --" << option.name
                      << " does not apply to it\n";
            fits = false;
        }
        if (!fits) std::cerr << "usage: dnsh-admin " << usage->usage << "\n";
        return fits;
    }

    // "30d" (days), or a duration of the README ("12h", "90m").
    static std::chrono::milliseconds parseWithin(const std::string& text) {
        if (!text.empty() && text.back() == 'd' &&
            text.find_first_not_of("0123456789") == text.size() - 1 && text.size() > 1)
            return std::chrono::hours(24 * std::stoll(text.substr(0, text.size() - 1)));
        return dnsh::parseDuration(text);
    }

    int list(dnsh::Database& database) {
        const std::string status = config().getString("admin.status", "");
        if (!status.empty() && !dnsh::parseDomainStatus(status)) {
            std::cerr << "unknown status " << status << "\n";
            return EXIT_USAGE;
        }
        std::optional<std::chrono::milliseconds> within;
        if (config().hasProperty("admin.expiringWithin")) {
            try {
                within = parseWithin(config().getString("admin.expiringWithin"));
            } catch (const std::exception& e) {
                std::cerr << "--expiring-within: " << e.what() << "\n";
                return EXIT_USAGE;
            }
        }
        // Every row, printed as its page comes (forEachDomainSummary): memory stays bounded
        // and the JSON array is written one item at a time.
        if (json()) {
            JsonArrayOnStdout items;
            dnsh::forEachDomainSummary(database, status, within, [&](const auto& row) {
                Poco::JSON::Object item(Poco::JSON_PRESERVE_KEY_ORDER);
                item.set("id", row.id);
                item.set("domain_name", row.domainName);
                item.set("status", row.status);
                item.set("expires_at", row.expiresAt.empty() ? Poco::Dynamic::Var()
                                                             : Poco::Dynamic::Var(row.expiresAt));
                item.set("renew_at", row.renewAt.empty() ? Poco::Dynamic::Var()
                                                         : Poco::Dynamic::Var(row.renewAt));
                items.add(item);
            });
            items.close();
            return EXIT_OK;
        }
        std::cout << std::left << std::setw(34) << "ID" << std::setw(40) << "DOMAIN"
                  << std::setw(21) << "STATUS" << std::setw(22) << "EXPIRES"
                  << "RENEWS\n";
        dnsh::forEachDomainSummary(database, status, within, [](const auto& row) {
            std::cout << std::setw(34) << row.id << std::setw(40) << row.domainName << std::setw(21)
                      << row.status << std::setw(22)
                      << (row.expiresAt.empty() ? "-" : row.expiresAt)
                      << (row.renewAt.empty() ? "-" : row.renewAt) << "\n";
        });
        return EXIT_OK;
    }

    int show(dnsh::Database& database, const dnsh::Config& config,
             const std::vector<std::string>& arguments) {
        const auto view = dnsh::domainJson(dnsh::findDomain(database, arguments[1]),
                                           dnsh::viewSettings(database, config));
        if (json()) {
            std::cout << view;
        } else {
            // Indented for people, keys in the API's order.
            Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
            parser.parse(view).extract<Poco::JSON::Object::Ptr>()->stringify(std::cout, 2);
        }
        std::cout << "\n";
        return EXIT_OK;
    }

    int renew(dnsh::Database& database, const std::vector<std::string>& arguments) {
        dnsh::renewNow(database, arguments[1]);
        std::cout << "renewal of " << arguments[1] << " starts at the scheduler's next scan\n";
        return EXIT_OK;
    }

    // ari-refresh ID|--all: renewalInfo asked now. Exit 0 when every answer was usable, 69
    // (EX_UNAVAILABLE) when some were not (or the CA offers none), 65 for an unknown domain, 70
    // (EX_SOFTWARE) when an answer could not be stored (--all goes on and reports it). Each
    // certificate is printed as it is asked, and flushed: a run that stops part way (an error,
    // the database lost: its exit code; an operator's signal: 128 + the signal) has printed
    // every certificate it asked, whose renew_at may have changed, the --json array closed.
    int ariRefresh(dnsh::Database& database, const dnsh::Config& config,
                   const std::vector<std::string>& arguments) {
        const bool all = this->config().hasProperty("admin.all");
        if (all == (arguments.size() == 2)) {
            std::cerr << "usage: dnsh-admin ari-refresh DOMAIN_ID|--all [--json]\n";
            return EXIT_USAGE;
        }
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
        if (json()) items.emplace();
        auto report = [&](const dnsh::AriRefreshed& refreshed) {
            ++counts[refreshed.outcome];
            ++reported;
            if (items)
                items->add(dnsh::ariRefreshedJson(refreshed));
            else
                std::cout << dnsh::ariRefreshedLine(refreshed) << "\n";
            std::cout.flush();  // kept, on the screen or in the file, even if it is killed
            if (const int number = dnsh::operatorStopSignal()) throw StoppedBySignal(number);
        };
        try {
            askAri(database, config, all ? std::string() : arguments[1], clients, report);
        } catch (const StoppedBySignal& stopped) {
            if (items) items->close();  // the array closed before the message
            std::cerr << "dnsh-admin ari-refresh: " << stopped.what() << " after " << reported
                      << " certificate(s), each printed above; the others were not asked\n";
            return 128 + stopped.signal();
        }
        if (items) items->close();
        if (all && !json()) {
            std::cout << "asked the CA about " << reported << " certificate(s):";
            for (const auto& [outcome, count] : counts)
                std::cout << " " << count << " " << dnsh::toString(outcome);
            std::cout << "\n";
        }
        if (counts.count(dnsh::AriRefreshOutcome::NotRecorded) > 0) return EXIT_SOFTWARE;
        const bool unusable = counts.count(dnsh::AriRefreshOutcome::NotUsable) > 0 ||
                              counts.count(dnsh::AriRefreshOutcome::NotOffered) > 0;
        return unusable ? EXIT_UNAVAILABLE : EXIT_OK;
    }

    // ari-refresh's asking: every active domain's certificate at each CA (no `domainId`: --all),
    // or the domain's at the CA that issued it; `report` sees each result as it comes.
    static void askAri(dnsh::Database& database, const dnsh::Config& config,
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

    // retry and delete go through the issuer, as the API's handlers do.
    int issuerCommand(dnsh::Database& database, const dnsh::Config& config,
                      const std::vector<std::string>& arguments) {
        const dnsh::DnsResolver resolver = dnsh::DnsResolver::fromConfig(config);
        dnsh::Issuer issuer(database, config, resolver, dnsh::CaCaller::Scheduler);
        if (arguments[0] == "delete") {
            issuer.deleteDomain(arguments[1]);
            std::cout << "deleted " << arguments[1] << "\n";
            return EXIT_OK;
        }
        // The operator's retry: the backoff after failures does not hold it back.
        const auto started = issuer.start(arguments[1], dnsh::IssueRequester::Operator);
        if (json()) {
            dnsh::issuanceJson(started)->stringify(std::cout);
            std::cout << "\n";
        } else {
            std::cout << "order " << started.orderId << " placed: "
                      << dnsh::issuanceJson(started)->getValue<std::string>("instructions") << "\n";
        }
        return EXIT_OK;
    }

    // Each migration is printed as it commits: when one fails (rolled back, the error on
    // stderr names it, exit 70), the ones applied before it, which stay, are listed above.
    int migrate(dnsh::Database& database) {
        const auto applied = dnsh::applyMigrations(
            database.session(), dnsh::embeddedMigrations(),
            [](const std::string& name) { std::cout << "applied " << name << std::endl; });
        if (applied.empty()) std::cout << "schema is up to date\n";
        return EXIT_OK;
    }

    int exportCert(dnsh::Database& database, const dnsh::Config& config,
                   const std::vector<std::string>& arguments) {
        const std::string out = this->config().getString("admin.out", "");
        if (out.empty()) {
            std::cerr << "usage: dnsh-admin export-cert DOMAIN_ID --out DIR\n";
            return EXIT_USAGE;
        }
        dnsh::exportCertificate(database, dnsh::loadKeyEncryptor(config), arguments[1], out);
        std::cout << "wrote " << out << "/cert.pem, chain.pem, key.pem\n";
        return EXIT_OK;
    }

    // Without --new-key-file: re-seal under the first file of KEY_ENCRYPTION_KEY_FILE (the
    // rotation with no restart). With it: under FILE, KEY_ENCRYPTION_KEY_FILE's keys opening.
    int rotateKek(dnsh::Database& database, const dnsh::Config& config) {
        const std::string next = this->config().getString("admin.newKeyFile", "");
        const auto current = dnsh::loadKeyEncryptor(config);
        // FILE alone first: in a list a missing file is skipped (a staged rotation), so a typo
        // would "rotate" to the current KEK and report success.
        if (!next.empty() && ::access(next.c_str(), F_OK) != 0)
            throw dnsh::ConfigError("--new-key-file " + next + ": " + std::strerror(errno) +
                                    " (nothing re-encrypted)");
        const auto keys =
            next.empty() ? current
                         : dnsh::KeyEncryptor::fromFile(next + "," + config.keyEncryptionKeyFile);
        const int count = dnsh::rotateKeyEncryptionKey(database, keys);
        std::cout << "re-encrypted " << count << " private key(s) to KEK " << keys.keyId() << "\n";
        return EXIT_OK;
    }

    bool helpRequested_ = false;
};

}  // namespace

// POCO_APP_MAIN, but an option init() refuses (unknown, or without its value) is bad usage,
// 64 as the README says, not 78 (EX_CONFIG) as POCO_APP_MAIN answers any exception of init().
int main(int argc, char** argv) {
    Poco::AutoPtr<AdminApplication> app = new AdminApplication;
    try {
        app->init(argc, argv);
    } catch (const Poco::Util::OptionException& e) {
        std::cerr << "dnsh-admin: " << e.displayText() << " (try --help)\n";
        return Poco::Util::Application::EXIT_USAGE;
    } catch (const Poco::Exception& e) {
        app->logger().log(e);
        return Poco::Util::Application::EXIT_CONFIG;
    }
    return app->run();
}
