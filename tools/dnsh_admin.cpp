// dnsh-admin: operator commands. `dnsh-admin migrate` applies the embedded schema migrations to
// DATABASE_URL.
#include <Poco/Util/Application.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <iostream>

#include "config/config.hpp"
#include "db/database.hpp"
#include "db/migrations.hpp"
#include "log/log.hpp"

namespace {

class AdminApplication : public Poco::Util::Application {
protected:
    void defineOptions(Poco::Util::OptionSet& options) override {
        Poco::Util::Application::defineOptions(options);
        options.addOption(Poco::Util::Option("help", "h", "show this help")
                              .required(false)
                              .repeatable(false)
                              .callback(Poco::Util::OptionCallback<AdminApplication>(
                                  this, &AdminApplication::handleHelp)));
    }

    void handleHelp(const std::string&, const std::string&) {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("COMMAND");
        help.setHeader(
            "Operator commands for DNS Handling.\n"
            "Commands:\n"
            "  migrate   apply the schema migrations to DATABASE_URL");
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
        try {
            const dnsh::Config config = dnsh::loadConfig();
            dnsh::setLogLevel(config.logLevel);
            if (arguments[0] == "migrate") return migrate(config);
            std::cerr << "unknown command: " << arguments[0] << " (try --help)\n";
            return EXIT_USAGE;
        } catch (const dnsh::ConfigError& e) {
            std::cerr << "configuration error: " << e.what() << "\n";
            return EXIT_CONFIG;
        } catch (const std::exception& e) {
            std::cerr << "dnsh-admin " << arguments[0] << " failed: " << e.what() << "\n";
            return EXIT_SOFTWARE;
        }
    }

private:
    int migrate(const dnsh::Config& config) {
        if (config.databaseUrl.empty()) {
            std::cerr << "DATABASE_URL is not set\n";
            return EXIT_CONFIG;
        }
        dnsh::Database database(config.databaseUrl);
        const auto applied =
            dnsh::applyMigrations(database.session(), dnsh::embeddedMigrations());
        for (const auto& name : applied) std::cout << "applied " << name << "\n";
        if (applied.empty()) std::cout << "schema is up to date\n";
        return EXIT_OK;
    }

    bool helpRequested_ = false;
};

}  // namespace

POCO_APP_MAIN(AdminApplication)
