#include "core/json_text.hpp"

#include <Poco/JSONString.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dnsh {

namespace {

// Eight bytes at a time: a byte-by-byte test cost about 11 instructions a byte (callgrind), and
// every string of every answer and log line goes through it (a page of 100 domains is ~150 KB).
// Each test below is exact as a yes or no (a flag may land on the wrong byte, never be missed):
// the "has a byte less than n" test of Sean Anderson's Bit Twiddling Hacks, for n <= 0x80.
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

constexpr std::uint64_t hasByteBelow(std::uint64_t word, std::uint64_t limit) {
    return (word - kOnes * limit) & ~word & kHighBits;
}

constexpr std::uint64_t hasByteEqual(std::uint64_t word, unsigned char byte) {
    return hasByteBelow(word ^ (kOnes * byte), 1);
}

// 0x7f and above: the high bit is set, or adding one sets it (no byte below 0x7f carries).
constexpr std::uint64_t hasByteFrom0x7f(std::uint64_t word) {
    return (word | (word + kOnes)) & kHighBits;
}

constexpr bool isPlainWord(std::uint64_t word) {
    return !(hasByteBelow(word, 0x20) | hasByteFrom0x7f(word) | hasByteEqual(word, '"') |
             hasByteEqual(word, '\\'));
}

constexpr std::size_t kWordSize = sizeof(std::uint64_t);

std::uint64_t wordAt(const char* bytes) {
    std::uint64_t word;
    std::memcpy(&word, bytes, kWordSize);
    return word;
}

}  // namespace

bool isPlainJsonString(std::string_view value) {
    // Most strings are keys and short values: a byte-by-byte tail cost them ~117 instructions a
    // call (callgrind, GET /domains/{id} at steady state). Now every string is whole words: one
    // shorter than a word is padded with a plain byte, the tail of a longer one is the word that
    // ends it (its first bytes tested twice).
    if (value.size() < kWordSize) {
        std::uint64_t word = kOnes * static_cast<unsigned char>('a');
        // An empty view's data() may be null, which memcpy must not get even for 0 bytes.
        if (!value.empty()) std::memcpy(&word, value.data(), value.size());
        return isPlainWord(word);
    }
    std::size_t at = 0;
    for (; at + kWordSize <= value.size(); at += kWordSize)
        if (!isPlainWord(wordAt(value.data() + at))) return false;
    return at == value.size() || isPlainWord(wordAt(value.data() + value.size() - kWordSize));
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
