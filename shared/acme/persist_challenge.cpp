#include "acme/persist_challenge.hpp"

#include <Poco/JSON/Array.h>

namespace dnsh::acme {

std::vector<std::string> parseIssuerDomainNames(const Poco::JSON::Object& challenge) {
    const Poco::JSON::Array::Ptr names = challenge.getArray("issuer-domain-names");
    if (!names || names->size() > kMaxIssuerDomainNames) return {};
    std::vector<std::string> parsed;
    for (std::size_t i = 0; i < names->size(); ++i) {
        const Poco::Dynamic::Var name = names->get(static_cast<unsigned>(i));
        if (!name.isString()) return {};
        std::string text = name.extract<std::string>();
        if (text.empty() || text.size() > kMaxIssuerDomainNameBytes) return {};
        parsed.push_back(std::move(text));
    }
    return parsed;
}

}  // namespace dnsh::acme
