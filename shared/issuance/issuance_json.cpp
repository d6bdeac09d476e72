#include "issuance/issuance_json.hpp"

#include "domain/domain_json.hpp"

namespace dnsh {

Poco::JSON::Object::Ptr issuanceJson(const StartedIssuance& started) {
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    json->set("order_id", started.orderId);
    json->set("status", "certificate_pending");
    Poco::JSON::Array challenges;
    for (const auto& challenge : started.challenges) {
        Poco::JSON::Object::Ptr item = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        item->set("challenge_domain", challenge.txtName);
        item->set("expected_txt_value", challenge.txtValue);
        challenges.add(item);
    }
    json->set("challenges", challenges);
    // The first API's single fields: the first value, or just the name when nothing is to be
    // published (an authorization the CA already holds as valid); never an empty value.
    json->set("challenge_domain", started.challenges.empty() ? started.challengeDomain
                                                             : started.challenges.front().txtName);
    if (!started.challenges.empty())
        json->set("expected_txt_value", started.challenges.front().txtValue);
    json->set("instructions", started.delegated
                                  ? std::string("Nothing to publish: the service publishes the "
                                                "values through the delegation CNAME")
                                  : publishInstructions(started.challenges));
    json->set("delegated", started.delegated);
    return json;
}

}  // namespace dnsh
