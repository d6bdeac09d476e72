#pragma once
// Request bodies: a JSON object, fields of the expected type. Errors are Error(BadRequest).
#include <Poco/JSON/Object.h>

#include <string>

namespace dnsh {

Poco::JSON::Object::Ptr parseJsonObject(const std::string& body);

std::string requireStringField(const Poco::JSON::Object::Ptr& object, const std::string& name);

}  // namespace dnsh
