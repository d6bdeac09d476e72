// acme/host_lookup: an address literal as it is, a name through the system's resolver (here
// /etc/hosts' localhost), and a spent deadline as Poco's timeout. A resolver that never answers
// is tests/fault/host_lookup_test.cpp.
#include <doctest/doctest.h>

#include <Poco/Exception.h>

#include <chrono>

#include "acme/host_lookup.hpp"

using namespace dnsh;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("host lookup: an address literal is taken as it is, without a lookup") {
    CHECK(lookUpHostBy("127.0.0.2", Clock::now() + 1s).toString() == "127.0.0.2");
    CHECK(lookUpHostBy("::1", Clock::now() + 1s).toString() == "::1");
    // Not even a spent deadline stops a literal: nothing is waited for.
    CHECK(lookUpHostBy("192.0.2.7", Clock::now() - 1s).toString() == "192.0.2.7");
}

TEST_CASE("host lookup: a name is looked up on its own thread and its address returned") {
    const auto address = lookUpHostBy("localhost", Clock::now() + 5s);
    CHECK(address.isLoopback());
}

TEST_CASE("host lookup: a deadline already spent is Poco's timeout, before any lookup") {
    CHECK_THROWS_AS(lookUpHostBy("localhost", Clock::now() - 1ms), Poco::TimeoutException);
}
