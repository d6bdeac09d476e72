// dnsh-admin: operator commands.
//   migrate                          apply the embedded schema migrations to DATABASE_URL
//   export-cert <domain-id> --out D  write cert.pem, chain.pem, key.pem (0600) of the newest
//   certificate rotate-kek --new-key-file F      re-encrypt every stored private key under the KEK
//   in F
#include <Poco/Util/Application.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <iostream>

#include "admin/admin_commands.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "db/database.hpp"
#include "db/migrations.hpp"
#include "issuance/issuer.hpp"
#include "log/log.hpp"

namespace {

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
    }

    void handleHelp(const std::string&, const std::string&) {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("COMMAND [ARGS]");
        help.setHeader(
            "Operator commands for DNS Handling (settings from the environment, see README).\n"
            "Commands:\n"
            "  migrate                            apply the schema migrations to DATABASE_URL\n"
            "  export-cert DOMAIN_ID --out DIR    write cert.pem, chain.pem and key.pem (0600)\n"
            "  rotate-kek --new-key-file FILE     re-encrypt all private keys under a new KEK;\n"
            "                                     then point KEY_ENCRYPTION_KEY_FILE at FILE and\n"
            "                                     restart the services");
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
            if (config.databaseUrl.empty()) throw dnsh::ConfigError("DATABASE_URL is not set");
            dnsh::Database database(config.databaseUrl);
            const std::string& command = arguments[0];
            if (command == "migrate") return migrate(database);
            if (command == "export-cert") return exportCert(database, config, arguments);
            if (command == "rotate-kek") return rotateKek(database, config);
            std::cerr << "unknown command: " << command << " (try --help)\n";
            return EXIT_USAGE;
        } catch (const dnsh::ConfigError& e) {
            std::cerr << "configuration error: " << e.what() << "\n";
            return EXIT_CONFIG;
        } catch (const dnsh::Error& e) {
            std::cerr << "dnsh-admin " << arguments[0] << ": " << e.what() << "\n";
            return e.code() == dnsh::ErrorCode::NotFound ? EXIT_DATAERR : EXIT_SOFTWARE;
        } catch (const std::exception& e) {
            std::cerr << "dnsh-admin " << arguments[0] << " failed: " << e.what() << "\n";
            return EXIT_SOFTWARE;
        }
    }

private:
    int migrate(dnsh::Database& database) {
        const auto applied = dnsh::applyMigrations(database.session(), dnsh::embeddedMigrations());
        for (const auto& name : applied) std::cout << "applied " << name << "\n";
        if (applied.empty()) std::cout << "schema is up to date\n";
        return EXIT_OK;
    }

    int exportCert(dnsh::Database& database, const dnsh::Config& config,
                   const std::vector<std::string>& arguments) {
        const std::string out = this->config().getString("admin.out", "");
        if (arguments.size() != 2 || out.empty()) {
            std::cerr << "usage: dnsh-admin export-cert DOMAIN_ID --out DIR\n";
            return EXIT_USAGE;
        }
        dnsh::exportCertificate(database, dnsh::loadKeyEncryptor(config), arguments[1], out);
        std::cout << "wrote " << out << "/cert.pem, chain.pem, key.pem\n";
        return EXIT_OK;
    }

    int rotateKek(dnsh::Database& database, const dnsh::Config& config) {
        const std::string next = this->config().getString("admin.newKeyFile", "");
        if (next.empty()) {
            std::cerr << "usage: dnsh-admin rotate-kek --new-key-file FILE\n";
            return EXIT_USAGE;
        }
        const auto current = dnsh::loadKeyEncryptor(config);
        const auto replacement = dnsh::KeyEncryptor::fromFile(next);
        const int count = dnsh::rotateKeyEncryptionKey(database, current, replacement);
        std::cout << "re-encrypted " << count << " private key(s) from KEK " << current.keyId()
                  << " to " << replacement.keyId() << "\n";
        return EXIT_OK;
    }

    bool helpRequested_ = false;
};

}  // namespace

POCO_APP_MAIN(AdminApplication)
