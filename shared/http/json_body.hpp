#pragma once
// Request bodies: a JSON object, fields of the expected type. Errors are Error(BadRequest).
#include <Poco/JSON/Object.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace dnsh {

Poco::JSON::Object::Ptr parseJsonObject(const std::string& body);

std::string requireStringField(const Poco::JSON::Object::Ptr& object, const std::string& name);

// An optional member: nullopt when absent; BadRequest when present as anything but a string
// (null included: leave the member out instead).
std::optional<std::string> optionalStringField(const Poco::JSON::Object::Ptr& object,
                                               const std::string& name);

// BadRequest naming a member that is not one of `known`. The document closes the request objects
// (additionalProperties: false): a field the service would drop is a client's mistake (a typo in
// an optional field) sooner than something to ignore, as an unknown query parameter is.
void rejectUnknownFields(const Poco::JSON::Object::Ptr& object,
                         std::initializer_list<std::string_view> known);

}  // namespace dnsh
