#include "http/json_body.hpp"

#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <set>
#include <vector>

#include "core/error.hpp"

namespace dnsh {

namespace {

// Rejects objects that repeat a key: which of the values counts would be a guess.
class StrictParseHandler : public Poco::JSON::ParseHandler {
public:
    void reset() override {
        keys_.clear();
        ParseHandler::reset();
    }
    void startObject() override {
        keys_.emplace_back();
        ParseHandler::startObject();
    }
    void endObject() override {
        if (!keys_.empty()) keys_.pop_back();
        ParseHandler::endObject();
    }
    void key(const std::string& name) override {
        if (!keys_.empty() && !keys_.back().insert(name).second) {
            const bool printable =
                name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
                    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
                });
            throw Error(ErrorCode::BadRequest,
                        "duplicate key in JSON object" + (printable ? ": " + name : std::string()));
        }
        ParseHandler::key(name);
    }

private:
    std::vector<std::set<std::string>> keys_;
};

}  // namespace

Poco::JSON::Object::Ptr parseJsonObject(const std::string& body) {
    if (body.empty())
        throw Error(ErrorCode::BadRequest, "request body is empty; expected a JSON object");
    // Poco rejects a top-level scalar as invalid; it is valid JSON (RFC 8259), just not ours.
    const std::size_t first = body.find_first_not_of(" \t\r\n");
    const std::size_t last = body.find_last_not_of(" \t\r\n");
    if (first != std::string::npos) {
        const std::string trimmed = body.substr(first, last - first + 1);
        const bool scalar = std::string("\"-0123456789").find(trimmed[0]) != std::string::npos ||
                            trimmed == "true" || trimmed == "false" || trimmed == "null";
        if (scalar) throw Error(ErrorCode::BadRequest, "request body must be a JSON object");
    }
    Poco::Dynamic::Var parsed;
    try {
        Poco::JSON::Parser parser(new StrictParseHandler);
        parsed = parser.parse(body);
    } catch (const Poco::Exception&) {
        throw Error(ErrorCode::BadRequest, "request body is not valid JSON");
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
        throw Error(ErrorCode::BadRequest, "request body must be a JSON object");
    return parsed.extract<Poco::JSON::Object::Ptr>();
}

std::string requireStringField(const Poco::JSON::Object::Ptr& object, const std::string& name) {
    if (!object->has(name)) throw Error(ErrorCode::BadRequest, "missing field: " + name);
    const Poco::Dynamic::Var value = object->get(name);
    if (!value.isString())
        throw Error(ErrorCode::BadRequest, "field " + name + " must be a string");
    return value.extract<std::string>();
}

void rejectUnknownFields(const Poco::JSON::Object::Ptr& object,
                         std::initializer_list<std::string_view> known) {
    for (const auto& [name, value] : *object) {
        if (std::find(known.begin(), known.end(), name) != known.end()) continue;
        std::string list;
        for (const auto field : known) list += (list.empty() ? "" : ", ") + std::string(field);
        // The name is the client's: at most 40 bytes of it (errorResponse makes it printable).
        throw Error(ErrorCode::BadRequest,
                    "unknown field " + name.substr(0, 40) + " in the request body; it has " + list);
    }
}

std::optional<std::string> optionalStringField(const Poco::JSON::Object::Ptr& object,
                                               const std::string& name) {
    if (!object->has(name)) return std::nullopt;
    return requireStringField(object, name);
}

}  // namespace dnsh
