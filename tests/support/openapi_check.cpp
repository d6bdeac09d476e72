#include "support/openapi_check.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace dnsh::test {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

Object::Ptr asObject(const Var& value) {
    return value.type() == typeid(Object::Ptr) ? value.extract<Object::Ptr>() : nullptr;
}

Array::Ptr asArray(const Var& value) {
    return value.type() == typeid(Array::Ptr) ? value.extract<Array::Ptr>() : nullptr;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
    if (!text.empty() && text.back() == separator) parts.emplace_back();
    return parts;
}

// "application/json; charset=utf-8" -> "application/json".
std::string mediaType(const std::string& contentType) {
    std::string type = lower(contentType.substr(0, contentType.find(';')));
    type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return c == ' '; }),
               type.end());
    return type;
}

// The JSON Schema type of a parsed value.
std::string jsonType(const Var& value) {
    if (value.isEmpty()) return "null";
    if (asObject(value)) return "object";
    if (asArray(value)) return "array";
    if (value.isString()) return "string";
    if (value.isBoolean()) return "boolean";
    if (value.isInteger()) return "integer";
    if (value.isNumeric()) return "number";
    return "unknown";
}

class Checker {
public:
    explicit Checker(Object::Ptr document) : document_(std::move(document)) {}

    // Follows "$ref": "#/components/..." (RFC 6901 pointers) until a plain object.
    Object::Ptr resolve(const Var& node) const {
        Object::Ptr object = asObject(node);
        for (int hops = 0; object && object->has("$ref"); ++hops) {
            if (hops > 20) throw std::runtime_error("$ref loop in the OpenAPI document");
            const std::string ref = object->getValue<std::string>("$ref");
            if (ref.rfind("#/", 0) != 0) throw std::runtime_error("non-local $ref " + ref);
            Var at = document_;
            for (std::string token : split(ref.substr(2), '/')) {
                token = std::regex_replace(token, std::regex("~1"), "/");
                token = std::regex_replace(token, std::regex("~0"), "~");
                const Object::Ptr parent = asObject(at);
                if (!parent || !parent->has(token))
                    throw std::runtime_error("dangling $ref " + ref);
                at = parent->get(token);
            }
            object = asObject(at);
        }
        return object;
    }

    // Appends to `out` where `value` differs from `schemaNode`; `where` names the value.
    void checkValue(const Var& value, const Var& schemaNode, const std::string& where,
                    std::vector<std::string>& out) const {
        const Object::Ptr schema = resolve(schemaNode);
        if (!schema) return;
        if (const Array::Ptr all = schema->getArray("allOf"))
            for (const auto& part : *all) checkValue(value, part, where, out);
        for (const char* keyword : {"anyOf", "oneOf"}) {
            const Array::Ptr alternatives = schema->getArray(keyword);
            if (!alternatives) continue;
            const bool anyFits =
                std::any_of(alternatives->begin(), alternatives->end(), [&](const Var& option) {
                    std::vector<std::string> problems;
                    checkValue(value, option, where, problems);
                    return problems.empty();
                });
            if (!anyFits) out.push_back(where + " fits none of the " + keyword + " schemas");
        }
        if (!checkType(value, schema, where, out)) return;
        if (value.isString()) checkString(value.extract<std::string>(), schema, where, out);
        if (const Object::Ptr object = asObject(value)) {
            if (const Array::Ptr required = schema->getArray("required"))
                for (const auto& name : *required)
                    if (!object->has(name.toString()))
                        out.push_back(where + " lacks the required field \"" + name.toString() +
                                      "\"");
            if (const Object::Ptr properties = schema->getObject("properties"))
                for (const auto& [name, propertySchema] : *properties)
                    if (object->has(name))
                        checkValue(object->get(name), propertySchema, where + "." + name, out);
        }
        if (const Array::Ptr array = asArray(value); array && schema->has("items"))
            for (std::size_t i = 0; i < array->size(); ++i)
                checkValue(array->get(static_cast<unsigned>(i)), schema->get("items"),
                           where + "[" + std::to_string(i) + "]", out);
    }

    // The documented response of `operation` for `status` (exact, then "4XX", then "default").
    Object::Ptr responseFor(const Object::Ptr& operation, int status) const {
        const Object::Ptr responses = operation->getObject("responses");
        if (!responses) return nullptr;
        for (const std::string& key :
             {std::to_string(status), std::to_string(status / 100) + "XX", std::string("default")})
            if (responses->has(key)) return resolve(responses->get(key));
        return nullptr;
    }

    void checkAgainstResponse(const ObservedAnswer& answer, const Object::Ptr& response,
                              const std::string& what, std::vector<std::string>& out) const {
        const Object::Ptr content = response->getObject("content");
        if (!content || content->size() == 0) {
            if (!answer.body.empty()) out.push_back(what + " documents no body but got one");
            return;
        }
        const std::string type = mediaType(answer.contentType);
        if (!content->has(type)) {
            std::string documented;
            for (const auto& [name, ignored] : *content) documented += " " + name;
            out.push_back(what + ": Content-Type \"" + answer.contentType +
                          "\" is not one documented (" + documented.substr(1) + ")");
            return;
        }
        if (type != "application/json") return;
        Var body;
        try {
            body = Poco::JSON::Parser().parse(answer.body);
        } catch (const std::exception& error) {
            out.push_back(what + ": the body is not JSON (" + error.what() + ")");
            return;
        }
        if (const Object::Ptr media = content->getObject(type); media && media->has("schema"))
            checkValue(body, media->get("schema"), what + " body", out);
    }

    // A header a client acts on must be declared by the response, and its value fit the declared
    // schema: Retry-After, what a client waits (RFC 9110 §10.2.3), and X-Request-Id, what an
    // operator is given to find the request's log lines.
    void checkDeclaredHeader(const std::string& name, const std::string& value,
                             const Object::Ptr& response, const std::string& what,
                             std::vector<std::string>& out) const {
        const Object::Ptr headers = response->getObject("headers");
        if (!headers || !headers->has(name)) {
            out.push_back(what + " carries " + name + ", which the document does not declare");
            return;
        }
        const Object::Ptr header = resolve(headers->get(name));
        if (header && header->has("schema"))
            checkValue(Var(value), header->get("schema"), what + " " + name, out);
    }

    // The path item whose template matches `path`, most literal segments first; null when none.
    Object::Ptr pathItem(const std::string& path, std::string& templateFound) const {
        const Object::Ptr paths = document_->getObject("paths");
        const auto segments = split(path, '/');
        Object::Ptr best;
        int bestLiterals = -1;
        for (const auto& [pattern, item] : *paths) {
            const auto wanted = split(pattern, '/');
            if (wanted.size() != segments.size()) continue;
            int literals = 0;
            bool fits = true;
            for (std::size_t i = 0; i < wanted.size() && fits; ++i) {
                const bool variable = wanted[i].size() > 2 && wanted[i].front() == '{' &&
                                      wanted[i].back() == '}';
                fits = variable ? !segments[i].empty() : wanted[i] == segments[i];
                literals += variable ? 0 : 1;
            }
            if (fits && literals > bestLiterals) {
                best = resolve(item);
                bestLiterals = literals;
                templateFound = pattern;
            }
        }
        return best;
    }

    Object::Ptr component(const std::string& name) const {
        return resolve(Var(makeRef("#/components/responses/" + name)));
    }

private:
    static Object::Ptr makeRef(const std::string& ref) {
        Object::Ptr object = new Object;
        object->set("$ref", ref);
        return object;
    }

    bool checkType(const Var& value, const Object::Ptr& schema, const std::string& where,
                   std::vector<std::string>& out) const {
        if (!schema->has("type")) return true;
        std::vector<std::string> allowed;
        if (const Array::Ptr list = schema->getArray("type"))
            for (const auto& name : *list) allowed.push_back(name.toString());
        else
            allowed.push_back(schema->getValue<std::string>("type"));
        const std::string actual = jsonType(value);
        for (const auto& type : allowed)
            if (type == actual || (type == "number" && actual == "integer")) return true;
        std::string expected;
        for (const auto& type : allowed) expected += (expected.empty() ? "" : " or ") + type;
        out.push_back(where + " is " + actual + ", documented as " + expected);
        return false;
    }

    void checkString(const std::string& text, const Object::Ptr& schema, const std::string& where,
                     std::vector<std::string>& out) const {
        if (schema->has("const") && schema->get("const").toString() != text)
            out.push_back(where + " is \"" + text + "\", documented as always \"" +
                          schema->get("const").toString() + "\"");
        if (const Array::Ptr values = schema->getArray("enum")) {
            const bool listed = std::any_of(values->begin(), values->end(),
                                            [&](const Var& v) { return v.toString() == text; });
            if (!listed) out.push_back(where + " is \"" + text + "\", not one of its enum values");
        }
        if (schema->has("pattern") &&
            !std::regex_search(text, std::regex(schema->getValue<std::string>("pattern"))))
            out.push_back(where + " \"" + text.substr(0, 80) + "\" does not match " +
                          schema->getValue<std::string>("pattern"));
        if (schema->has("minLength") && text.size() < schema->getValue<std::size_t>("minLength"))
            out.push_back(where + " is shorter than its minLength");
    }

    Object::Ptr document_;
};

}  // namespace

OpenApiDocument::OpenApiDocument(Poco::JSON::Object::Ptr document)
    : document_(std::move(document)) {
    if (!document_ || !document_->getObject("paths"))
        throw std::runtime_error("not an OpenAPI document: no paths");
}

const OpenApiDocument& OpenApiDocument::ofProject() {
    static const OpenApiDocument document = [] {
        std::ifstream file(DNSH_SOURCE_DIR "/deploy/api/openapi.json");
        if (!file) throw std::runtime_error("cannot read deploy/api/openapi.json");
        return OpenApiDocument(
            Poco::JSON::Parser().parse(file).extract<Poco::JSON::Object::Ptr>());
    }();
    return document;
}

std::vector<std::string> OpenApiDocument::violations(const ObservedAnswer& answer) const {
    const Checker checker(document_);
    const std::string path = answer.path.substr(0, answer.path.find('?'));
    const std::string what = answer.method + " " + path.substr(0, 120) + " -> " +
                             std::to_string(answer.status);
    std::vector<std::string> out;

    std::string pattern;
    const Object::Ptr item = checker.pathItem(path, pattern);
    const Object::Ptr operation = item ? item->getObject(lower(answer.method)) : nullptr;
    Object::Ptr response;
    if (!item) {
        if (answer.status != 404)
            out.push_back(what + ": the path is not in the document, so the answer must be 404");
        response = checker.component("NotFound");
    } else if (!operation) {
        if (answer.status != 405 && answer.status != 501)
            out.push_back(what + ": " + pattern + " has no " + answer.method +
                          " operation, so the answer must be 405 (or 501)");
        response = checker.component(answer.status == 501 ? "NotImplemented" : "MethodNotAllowed");
    } else {
        response = checker.responseFor(operation, answer.status);
        if (!response) out.push_back(what + ": status not documented for " + pattern);
    }
    if (response && !answer.retryAfter.empty())
        checker.checkDeclaredHeader("Retry-After", answer.retryAfter, response, what, out);
    if (response && !answer.requestId.empty())
        checker.checkDeclaredHeader("X-Request-Id", answer.requestId, response, what, out);
    // HEAD (RFC 9110 §9.3.2): GET's status and headers, never a body; a documented body is what
    // GET would send.
    if (answer.method == "HEAD") {
        if (!answer.body.empty()) out.push_back(what + ": a HEAD answer has a body");
        return out;
    }
    if (response) checker.checkAgainstResponse(answer, response, what, out);
    return out;
}

}  // namespace dnsh::test
