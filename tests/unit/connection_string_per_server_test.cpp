// connectionStringPerServer: a multi-host DATABASE_URL cut into one connection string per server,
// as libpq pairs its host, hostaddr and port lists (libpq "Specifying Multiple Hosts"), for
// /readyz's connect, which gives each server a share of its 2 s.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "db/database.hpp"

using namespace dnsh;

namespace {

// `keyword`'s value in `connection` ("" when it has none).
std::string valueOf(const std::string& connection, const std::string& keyword) {
    for (const auto& [name, value] : connectionParameters(connection))
        if (name == keyword) return value;
    return "";
}

}  // namespace

TEST_CASE("connectionStringPerServer: one server is the string as it was") {
    const std::string one = "host=/run/postgresql dbname=dnsh connect_timeout=3";
    CHECK(connectionStringPerServer(one) == std::vector<std::string>{one});
    CHECK(connectionStringPerServer("dbname=dnsh") == std::vector<std::string>{"dbname=dnsh"});
}

TEST_CASE("connectionStringPerServer: each server with its own port, every other setting kept") {
    const auto servers = connectionStringPerServer(
        "host=db1,db2 port=5432,5433 dbname=dnsh target_session_attrs=read-write "
        "connect_timeout=3");
    REQUIRE(servers.size() == 2);
    CHECK(valueOf(servers[0], "host") == "db1");
    CHECK(valueOf(servers[0], "port") == "5432");
    CHECK(valueOf(servers[1], "host") == "db2");
    CHECK(valueOf(servers[1], "port") == "5433");
    for (const auto& server : servers) {
        CHECK(valueOf(server, "dbname") == "dnsh");
        CHECK(valueOf(server, "target_session_attrs") == "read-write");
        CHECK(valueOf(server, "connect_timeout") == "3");
    }
}

TEST_CASE("connectionStringPerServer: the URI form, one port for all, hostaddr and empty items") {
    const auto uri = connectionStringPerServer(
        "postgresql://dnsh:pw@db1:5432,db2:6432/dnsh?target_session_attrs=read-write");
    REQUIRE(uri.size() == 2);
    CHECK(valueOf(uri[1], "host") == "db2");
    CHECK(valueOf(uri[1], "port") == "6432");
    CHECK(valueOf(uri[1], "password") == "pw");

    const auto onePort = connectionStringPerServer("host=db1,db2 port=6432");
    REQUIRE(onePort.size() == 2);
    CHECK(valueOf(onePort[0], "port") == "6432");
    CHECK(valueOf(onePort[1], "port") == "6432");

    // libpq counts the servers by hostaddr; host, when given, names them for TLS.
    const auto addresses = connectionStringPerServer("host=a,b hostaddr=10.0.0.1,10.0.0.2");
    REQUIRE(addresses.size() == 2);
    CHECK(valueOf(addresses[1], "host") == "b");
    CHECK(valueOf(addresses[1], "hostaddr") == "10.0.0.2");

    // An empty item is libpq's default (socket directory, port 5432).
    const auto withDefault = connectionStringPerServer("host=127.0.0.1, port=7777,");
    REQUIRE(withDefault.size() == 2);
    CHECK(valueOf(withDefault[1], "host") == "");
    CHECK(valueOf(withDefault[1], "port") == "");
}

TEST_CASE("connectionStringPerServer: lists libpq would refuse are left whole for its error") {
    const std::string mismatched = "host=db1,db2 port=1,2,3 dbname=dnsh";
    CHECK(connectionStringPerServer(mismatched) == std::vector<std::string>{mismatched});
    const std::string names = "host=a,b,c hostaddr=10.0.0.1,10.0.0.2";
    CHECK(connectionStringPerServer(names) == std::vector<std::string>{names});
}
