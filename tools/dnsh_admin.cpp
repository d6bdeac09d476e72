// dnsh-admin: operator commands (see --help): migrate, list, show, renew, ari-refresh, retry,
// delete, export-cert, rotate-kek, handler-procs, host-check. Settings come from the environment,
// as for the services.
// This file: the options, --help, the dispatch to the commands (dnsh_admin_commands.hpp) and
// the exit code of a command that failed, or whose output did not reach stdout.
#include <Poco/AutoPtr.h>
#include <Poco/Util/AbstractConfiguration.h>
#include <Poco/Util/Application.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionSet.h>

#include <iostream>
#include <string>
#include <vector>

#include "admin/handler_processes.hpp"
#include "admin/host_check.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/failure_code.hpp"
#include "core/process_hardening.hpp"
#include "db/database.hpp"
#include "db/database_host.hpp"
#include "dnsh_admin_commands.hpp"
#include "dnsh_admin_stdout.hpp"
#include "dnsh_admin_usage.hpp"
#include "domain/outbox.hpp"
#include "log/log.hpp"

namespace {

bool caRateLimited(const dnsh::Error& error) {
    return error.errorCode() == dnsh::toString(dnsh::FailureCode::CaRateLimited);
}

// Exit codes of a failed command (README "Operating it"). A wait (the domain's, or the CA's
// rate limit just met) is 75: trying later helps, and the message says when. So is a database
// busy past its wait (a lock or statement timeout; migrate's tables locked by others throughout).
int exitCodeOf(const dnsh::Error& error) {
    using App = Poco::Util::Application;
    if (caRateLimited(error)) return App::EXIT_TEMPFAIL;
    switch (error.code()) {
        case dnsh::ErrorCode::NotFound:
            return App::EXIT_DATAERR;
        case dnsh::ErrorCode::TooManyRequests:
        case dnsh::ErrorCode::DatabaseTimeout:
            return App::EXIT_TEMPFAIL;
        default:
            return App::EXIT_SOFTWARE;
    }
}

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
        options.addOption(Poco::Util::Option("long-lived", "l",
                                             "list: certificates with a lifetime over 21 days")
                              .binding("admin.longLived"));
        options.addOption(Poco::Util::Option("renewal-failing", "f",
                                             "list: certificates a renewal failed to replace")
                              .binding("admin.renewalFailing"));
        options.addOption(
            Poco::Util::Option("json", "j", "machine-readable output").binding("admin.json"));
        options.addOption(Poco::Util::Option("all", "a", "ari-refresh: every active domain")
                              .binding("admin.all"));
    }

    void handleHelp(const std::string&, const std::string&) {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("COMMAND [ARGS]");
        help.setHeader(dnsh_admin::commandsHelp());
        help.format(std::cout);
        stopOptionsProcessing();
        helpRequested_ = true;
    }

    int main(const std::vector<std::string>& arguments) override {
        if (helpRequested_) return dnsh_admin::exitCodeAfterOutput("--help", EXIT_OK);
        if (arguments.empty()) {
            std::cerr << "usage: dnsh-admin COMMAND (try --help)\n";
            return EXIT_USAGE;
        }
        if (!dnsh_admin::usageFits(arguments, config())) return EXIT_USAGE;
        // Done only once what it printed reached stdout (a full disk: 74).
        return dnsh_admin::exitCodeAfterOutput(arguments[0], runCommand(arguments));
    }

private:
    // The command, its usage checked; its exit code.
    int runCommand(const std::vector<std::string>& arguments) {
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
            const Poco::Util::AbstractConfiguration& options = this->config();
            if (command == "migrate") return dnsh_admin::migrate(database);
            if (command == "list") return dnsh_admin::list(database, options);
            if (command == "show") return dnsh_admin::show(database, config, options, arguments);
            if (command == "renew") return dnsh_admin::renew(database, arguments);
            if (command == "ari-refresh")
                return dnsh_admin::ariRefresh(database, config, options, arguments);
            if (command == "retry" || command == "delete")
                return dnsh_admin::issuerCommand(database, config, options, arguments);
            if (command == "export-cert")
                return dnsh_admin::exportCert(database, config, options, arguments);
            if (command == "rotate-kek") return dnsh_admin::rotateKek(database, config, options);
            // usageFits knows a command this does not dispatch.
            std::cerr << "dnsh-admin " << command << ": not dispatched\n";
            return EXIT_SOFTWARE;
        } catch (const dnsh_admin::StdoutUnwritable&) {
            return EXIT_IOERR;  // exitCodeAfterOutput says so
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
