#include "issuance/issuance_json.hpp"

namespace dnsh {

Poco::JSON::Object::Ptr issuanceJson(const StartedIssuance& started) {
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    json->set("order_id", started.orderId);
    json->set("status", "certificate_pending");
    json->set("challenge_domain", started.challengeDomain);
    json->set("expected_txt_value", started.expectedTxtValue);
    json->set("instructions", "Update the TXT record for " + started.challengeDomain +
                                  " to: " + started.expectedTxtValue);
    return json;
}

}  // namespace dnsh
