#include "issuance/issuance_json.hpp"

#include "domain/domain_json.hpp"

namespace dnsh {

namespace {

std::string instructions(const StartedIssuance& started) {
    if (started.validationMethod == ValidationMethod::DnsPersist01)
        return "Nothing to publish: the CA validates with the dns-persist-01 record at "
               "_validation-persist." +
               started.challengeDomain.substr(started.challengeDomain.find('.') + 1);
    if (started.delegated)
        return "Nothing to publish: the service publishes the values through the delegation "
               "CNAME";
    return publishInstructions(started.challenges);
}

}  // namespace

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
    json->set("instructions", instructions(started));
    json->set("delegated", started.delegated);
    json->set("validation_method", std::string(toString(started.validationMethod)));
    return json;
}

}  // namespace dnsh
