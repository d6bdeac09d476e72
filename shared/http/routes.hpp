#pragma once
// The API's one route table (README "API"): path pattern -> method -> handler executable.
// 405's Allow header comes from it, and lighttpd.conf's routing is checked against it
// (tests/unit/routes_test.cpp), so the two cannot drift.
#include <string>
#include <vector>

namespace dnsh {

struct Route {
    std::string pattern;  // "/domains/{id}/verify"
    std::string method;
    std::string handler;  // the executable under handlers/
    // It seals or opens private keys: the one kind of handler lighttpd.conf gives
    // KEY_ENCRYPTION_KEY_FILE (var.key_handler_env); the others never see it.
    bool opensPrivateKeys = false;
};

const std::vector<Route>& routeTable();

// Every method the table has for a path matching `path`, as an Allow header value ("GET, HEAD,
// POST"): HEAD right after GET, since every GET route answers HEAD (RFC 9110 §9.3.2; the table
// lists GET only). "" when no route matches it.
std::string allowedMethods(const std::string& path);

}  // namespace dnsh
