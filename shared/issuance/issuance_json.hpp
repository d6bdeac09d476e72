#pragma once
#include <Poco/JSON/Object.h>

#include "issuance/issuer.hpp"

namespace dnsh {

// 202 body of POST /domains/{id}/issue-certificate.
Poco::JSON::Object::Ptr issuanceJson(const StartedIssuance& started);

}  // namespace dnsh
