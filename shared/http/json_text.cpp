#include "http/json_text.hpp"

#include <Poco/JSONString.h>

namespace dnsh {

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
    text_ += Poco::toJSON(std::string(name), Poco::JSON_WRAP_STRINGS);
    text_ += ':';
    afterKey_ = true;
    return *this;
}

JsonText& JsonText::string(const std::string& value) {
    beforeValue();
    text_ += Poco::toJSON(value, Poco::JSON_WRAP_STRINGS);
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
