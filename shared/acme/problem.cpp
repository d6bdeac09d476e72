#include "acme/problem.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

namespace dnsh::acme {

namespace {

std::string text(const Poco::JSON::Object::Ptr& object, const std::string& name) {
    try {
        return object->optValue<std::string>(name, "");
    } catch (const Poco::Exception&) {
        return "";  // a member of another type says nothing we can show
    }
}

// RFC 8555 §6.7.1: "identifier" is an identifier object (§7.1.3: type and value).
std::string identifierText(const Poco::JSON::Object::Ptr& subproblem) {
    const auto identifier = subproblem->getObject("identifier");
    if (!identifier) return "";
    return text(identifier, "type") + ":" + text(identifier, "value");
}

}  // namespace

ProblemDocument parseProblemDocument(const std::string& body) {
    ProblemDocument document;
    Poco::JSON::Object::Ptr object;
    try {
        const auto parsed = Poco::JSON::Parser().parse(body);
        if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) return document;
        object = parsed.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
        return document;
    }
    document.type = text(object, "type");
    document.detail = text(object, "detail");
    document.instance = text(object, "instance");
    if (const auto list = object->getArray("subproblems")) {
        for (std::size_t i = 0; i < list->size(); ++i) {
            const auto entry = list->getObject(static_cast<unsigned>(i));
            if (!entry) continue;
            document.subproblems.push_back(
                Subproblem{text(entry, "type"), text(entry, "detail"), identifierText(entry)});
        }
    }
    return document;
}

std::string problemDetailText(const ProblemDocument& document, const std::string& fallback,
                              const std::string& termsOfServiceLink) {
    std::string detail = document.detail.empty() ? fallback : document.detail;
    if (document.type != ProblemType::kUserActionRequired) return detail;
    const std::string& where = document.instance.empty() ? termsOfServiceLink : document.instance;
    return detail + "; the CA needs a person to act at " +
           (where.empty() ? std::string("an address it did not name") : where);
}

}  // namespace dnsh::acme
