#include "acme/problem.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "core/shown_text.hpp"
#include "log/log.hpp"

namespace dnsh::acme {

namespace {

std::string rawText(const Poco::JSON::Object& object, const std::string& name) {
    try {
        return object.optValue<std::string>(name, "");
    } catch (const Poco::Exception&) {
        return "";  // a member of another type says nothing we can show
    }
}

// A member as it may be kept: printable, at most `maxBytes` (problem.hpp).
std::string text(const Poco::JSON::Object& object, const std::string& name,
                 std::size_t maxBytes) {
    return shownText(rawText(object, name), maxBytes);
}

// RFC 8555 §6.7.1: "identifier" is an identifier object (§7.1.3: type and value).
std::string identifierText(const Poco::JSON::Object& subproblem) {
    const auto identifier = subproblem.getObject("identifier");
    if (!identifier) return "";
    return shownText(rawText(*identifier, "type") + ":" + rawText(*identifier, "value"),
                     kMaxIdentifierBytes);
}

}  // namespace

ProblemDocument parseProblemDocument(const Poco::JSON::Object& object) {
    ProblemDocument document;
    document.type = text(object, "type", kMaxProblemTypeBytes);
    document.detail = text(object, "detail", kMaxProblemDetailBytes);
    document.instance = text(object, "instance", kMaxProblemInstanceBytes);
    if (const auto list = object.getArray("subproblems")) {
        for (std::size_t i = 0; i < list->size(); ++i) {
            const auto entry = list->getObject(static_cast<unsigned>(i));
            if (!entry) continue;
            if (document.subproblems.size() == kMaxKeptSubproblems) {
                ++document.subproblemsLeftOut;
                continue;
            }
            document.subproblems.push_back(
                Subproblem{text(*entry, "type", kMaxProblemTypeBytes),
                           text(*entry, "detail", kMaxProblemDetailBytes), identifierText(*entry)});
        }
    }
    return document;
}

ProblemDocument parseProblemDocument(const std::string& body) {
    try {
        const auto parsed = Poco::JSON::Parser().parse(body);
        if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) return {};
        return parseProblemDocument(*parsed.extract<Poco::JSON::Object::Ptr>());
    } catch (const Poco::Exception&) {
        return {};
    }
}

void logSubproblems(const ProblemDocument& document, const std::string& url) {
    for (const auto& subproblem : document.subproblems)
        logEvent(LogLevel::Warn, "acme subproblem",
                 {{"url", url},
                  {"problem_type", document.type},
                  {"identifier", subproblem.identifier},
                  {"subproblem_type", subproblem.type},
                  {"detail", subproblem.detail}});
    if (document.subproblemsLeftOut > 0)
        logEvent(LogLevel::Warn, "acme subproblems not logged",
                 {{"url", url},
                  {"problem_type", document.type},
                  {"count", static_cast<Poco::Int64>(document.subproblemsLeftOut)}});
}

std::string problemDetailText(const ProblemDocument& document, const std::string& fallback,
                              const std::string& termsOfServiceLink) {
    // The fallback names the CA's URL (from its own answers): bounded as its detail is.
    std::string detail = document.detail.empty() ? shownText(fallback, kMaxProblemDetailBytes)
                                                 : document.detail;
    if (document.type != ProblemType::kUserActionRequired) return detail;
    // The document's own fields were cleaned when parsed; the link comes from a header.
    const std::string where = document.instance.empty()
                                  ? shownText(termsOfServiceLink, kMaxProblemInstanceBytes)
                                  : document.instance;
    return detail + "; the CA needs a person to act at " +
           (where.empty() ? std::string("an address it did not name") : where);
}

}  // namespace dnsh::acme
