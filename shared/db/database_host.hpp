#pragma once
// Where DATABASE_URL points: this host or another one. A handler that only reads PostgreSQL
// shares the cores with the backends serving it when PostgreSQL runs here, and waits on the
// network when it does not; how many processes it pays to run differs (README "Configuration",
// DNSH_READ_HANDLER_PROCS).
#include <string>

namespace dnsh {

// True when every server the URL names (libpq's host and hostaddr lists, either form of the
// URL) is a Unix-domain socket or a loopback address: no host (libpq's default socket), a
// socket directory ("/run/postgresql", "@abstract"), "localhost", 127.0.0.0/8 or ::1. A
// service (pg_service.conf) without a host in the URL is not known to be here: false. Throws
// std::invalid_argument (the password never shown) when libpq cannot parse it.
bool databaseOnThisHost(const std::string& databaseUrl);

}  // namespace dnsh
