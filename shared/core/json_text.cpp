#include "core/json_text.hpp"

#include <Poco/JSONString.h>

#include <algorithm>

namespace dnsh {

bool isPlainJsonString(std::string_view value) {
    return std::all_of(value.begin(), value.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\';
    });
}

namespace {

// Only a string that may need escaping goes through Poco::toJSON.
void appendQuoted(std::string& text, std::string_view value) {
    if (isPlainJsonString(value)) {
        text += '"';
        text += value;
        text += '"';
    } else {
        text += Poco::toJSON(std::string(value), Poco::JSON_WRAP_STRINGS);
    }
}

}  // namespace

void JsonText::beforeValue() {
    if (afterKey_) {
        afterKey_ = false;
        return;
    }
    if (!levelIsEmpty_.empty()) {
        if (!levelIsEmpty_.back()) text_ += ',';
        levelIsEmpty_.back() = false;
    }
}

JsonText& JsonText::open(char bracket) {
    beforeValue();
    text_ += bracket;
    levelIsEmpty_.push_back(true);
    return *this;
}

JsonText& JsonText::close(char bracket) {
    text_ += bracket;
    levelIsEmpty_.pop_back();
    return *this;
}

JsonText& JsonText::beginObject() {
    if (text_.empty()) text_.reserve(1024);
    return open('{');
}

JsonText& JsonText::endObject() {
    return close('}');
}

JsonText& JsonText::beginArray() {
    return open('[');
}

JsonText& JsonText::endArray() {
    return close(']');
}

JsonText& JsonText::key(std::string_view name) {
    beforeValue();
    appendQuoted(text_, name);
    text_ += ':';
    afterKey_ = true;
    return *this;
}

JsonText& JsonText::string(const std::string& value) {
    beforeValue();
    appendQuoted(text_, value);
    return *this;
}

JsonText& JsonText::null() {
    beforeValue();
    text_ += "null";
    return *this;
}

JsonText& JsonText::raw(std::string_view json) {
    beforeValue();
    text_ += json;
    return *this;
}

}  // namespace dnsh
