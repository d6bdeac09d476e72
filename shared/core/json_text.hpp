#pragma once
// Compact JSON text built in one string, for the views every read returns: a Poco::JSON::Object
// tree (a map of Dynamic::Var per object, then a stream to stringify it) cost more than the
// query behind GET /domains/{id}. A plain string (isPlainJsonString) goes in as it is; any other
// is escaped by Poco::toJSON, the routine the tree's stringify uses.
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

// Printable ASCII without '"' or '\\': JSON needs nothing escaped in it (RFC 8259 §7; '/' may
// stay as it is), so it is copied as it is. Ids, timestamps, names, paths and statuses are.
bool isPlainJsonString(std::string_view value);

class JsonText {
public:
    JsonText& beginObject();
    JsonText& endObject();
    JsonText& beginArray();
    JsonText& endArray();
    // A member's name; its value comes next.
    JsonText& key(std::string_view name);
    JsonText& string(const std::string& value);
    JsonText& null();
    // Text that already is one JSON value (a view built by another JsonText).
    JsonText& raw(std::string_view json);

    // key(name).string(value): the common case.
    JsonText& member(std::string_view name, const std::string& value) {
        return key(name).string(value);
    }

    std::string take() { return std::move(text_); }

private:
    void beforeValue();
    JsonText& open(char bracket);
    JsonText& close(char bracket);

    std::string text_;
    std::vector<bool> levelIsEmpty_;
    bool afterKey_ = false;
};

}  // namespace dnsh
