#pragma once
// What dnsh-admin ari-refresh shows for one certificate: a line for people, an object for
// scripts (--json).
#include <Poco/JSON/Object.h>

#include <string>

#include "issuance/ari_refresh.hpp"

namespace dnsh {

// "shop.example.com (3f0c…): renewal due now (…)".
std::string ariRefreshedLine(const AriRefreshed& refreshed);

// {"domain_id", "domain_name", "certificate_id", "outcome", "renew_at" (RFC 3339 or null),
// "detail" (when the answer was not usable, or not recorded: why)}.
Poco::JSON::Object ariRefreshedJson(const AriRefreshed& refreshed);

}  // namespace dnsh
