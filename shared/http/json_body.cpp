#include "http/json_body.hpp"

#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Parser.h>

#include "core/error.hpp"

namespace dnsh {

Poco::JSON::Object::Ptr parseJsonObject(const std::string& body) {
    if (body.empty()) throw Error(ErrorCode::BadRequest, "request body is empty; expected a JSON object");
    Poco::Dynamic::Var parsed;
    try {
        Poco::JSON::Parser parser;
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
    if (!value.isString()) throw Error(ErrorCode::BadRequest, "field " + name + " must be a string");
    return value.extract<std::string>();
}

}  // namespace dnsh
