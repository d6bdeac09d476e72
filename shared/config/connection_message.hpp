#pragma once
// libpq's messages about a connection string, or about a connection that failed, redacted: for a
// log line and for the configuration error that refuses a DATABASE_URL libpq cannot parse. Here,
// below db/, so that loadConfig can use it.
#include <string>
#include <string_view>

namespace dnsh {

// libpq's message with every quoted part that is not a parameter name replaced by "...": it
// quotes what it could not parse (a password among it), host names, paths and values.
std::string redactConnectionError(std::string_view message);

}  // namespace dnsh
