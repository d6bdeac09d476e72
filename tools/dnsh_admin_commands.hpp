#pragma once
// The commands of dnsh-admin that work on the database, which tools/dnsh_admin.cpp dispatches to
// once the usage fits (dnsh_admin_usage.hpp); each returns its exit code. `options`: the options
// given on the command line, as the properties their bindings set (admin.out, admin.json, ...).
#include <Poco/Util/AbstractConfiguration.h>
#include <Poco/Util/Application.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "db/database.hpp"

namespace dnsh_admin {

// EXIT_OK, EXIT_USAGE, ...: the exit codes of sysexits.h, as Poco's Application names them.
using enum Poco::Util::Application::ExitCode;

// --json: machine-readable output.
inline bool json(const Poco::Util::AbstractConfiguration& options) {
    return options.hasProperty("admin.json");
}

// dnsh_admin_domain_commands.cpp
int list(dnsh::Database& database, const Poco::Util::AbstractConfiguration& options);
int show(dnsh::Database& database, const dnsh::Config& config,
         const Poco::Util::AbstractConfiguration& options,
         const std::vector<std::string>& arguments);
int renew(dnsh::Database& database, const std::vector<std::string>& arguments);
int issuerCommand(dnsh::Database& database, const dnsh::Config& config,
                  const Poco::Util::AbstractConfiguration& options,
                  const std::vector<std::string>& arguments);

// dnsh_admin_ari_refresh.cpp
int ariRefresh(dnsh::Database& database, const dnsh::Config& config,
               const Poco::Util::AbstractConfiguration& options,
               const std::vector<std::string>& arguments);

// dnsh_admin_storage_commands.cpp
int migrate(dnsh::Database& database);
int exportCert(dnsh::Database& database, const dnsh::Config& config,
               const Poco::Util::AbstractConfiguration& options,
               const std::vector<std::string>& arguments);
int rotateKek(dnsh::Database& database, const dnsh::Config& config,
              const Poco::Util::AbstractConfiguration& options);

}  // namespace dnsh_admin
