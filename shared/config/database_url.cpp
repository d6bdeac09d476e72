// DATABASE_URL's values as Poco's PostgreSQL connector can pass them: none may hold a space.
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "config/config_variables.hpp"

namespace dnsh::config_variables {

void checkDatabaseUrl(const std::string& databaseUrl) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(databaseUrl.c_str(), &error), &PQconninfoFree);
    PQfreemem(error);
    // One libpq cannot parse is reported where it is used (redacted: it may quote a password).
    if (!options) return;
    for (const PQconninfoOption* option = options.get(); option->keyword; ++option) {
        if (option->val == nullptr || std::string(option->val).find(' ') == std::string::npos)
            continue;
        // Poco 1.11 (PostgreSQL::SessionImpl::open) splits its connection string at every
        // space, quoted or not, and sorts the pieces: libpq then reads a piece of this value as
        // a keyword, and every connection fails. libpq's key=value syntax has no way to write a
        // space without one. Named by its keyword only: the value may be the password.
        // What lighttpd passes on to the handlers (lighttpd.conf's var.handler_env) besides:
        // PGOPTIONS and PGPASSFILE; any other parameter goes in a libpq service file.
        const std::string keyword = option->keyword;
        const std::string instead =
            keyword == "options"    ? "PGOPTIONS in the environment instead"
            : keyword == "password" ? "a passfile instead (PGPASSFILE)"
                                    : "a libpq service file instead (pg_service.conf, service=)";
        throw ConfigError("invalid DATABASE_URL: the value of " + keyword +
                          " holds a space, which the PostgreSQL connector cannot pass to libpq;" +
                          " use " + instead);
    }
}

}  // namespace dnsh::config_variables
