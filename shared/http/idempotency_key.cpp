#include "http/idempotency_key.hpp"

#include "core/error.hpp"

namespace dnsh {

namespace {

[[noreturn]] void refuse(const std::string& why) {
    throw Error(ErrorCode::BadRequest,
                "Idempotency-Key " + why +
                    " (a Structured Field String of 1-" +
                    std::to_string(kMaxIdempotencyKeyLength) +
                    " printable ASCII characters, e.g. \"8e03978e-40d5-43e8-bc93-6894a57f9324\" "
                    "with its double quotes)");
}

// RFC 8941 §4.2: leading SP is discarded before the Item is parsed, and after it.
std::string_view withoutLeadingSpaces(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    return text;
}

}  // namespace

std::optional<std::string> parseIdempotencyKey(std::string_view field) {
    if (field.empty()) return std::nullopt;
    std::string_view input = withoutLeadingSpaces(field);
    // RFC 8941 §4.2.5, Parsing a String: DQUOTE, then characters up to the closing DQUOTE, a
    // backslash escaping only DQUOTE and itself; any other byte outside %x20-7E fails.
    if (input.empty() || input.front() != '"') refuse("is not a String in double quotes");
    input.remove_prefix(1);
    std::string key;
    bool closed = false;
    while (!input.empty() && !closed) {
        const char c = input.front();
        input.remove_prefix(1);
        if (c == '\\') {
            if (input.empty() || (input.front() != '"' && input.front() != '\\'))
                refuse("escapes a character other than \" or \\");
            key += input.front();
            input.remove_prefix(1);
        } else if (c == '"') {
            closed = true;
        } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
            refuse("has a character that is not printable ASCII");
        } else {
            key += c;
        }
        // Checked as it grows: a long field is refused without copying all of it.
        if (key.size() > kMaxIdempotencyKeyLength)
            refuse("is longer than " + std::to_string(kMaxIdempotencyKeyLength) + " characters");
    }
    if (!closed) refuse("has no closing double quote");
    // RFC 8941 §4.2.3: an Item's parameters follow it after ';'. The draft defines none (its
    // §2.1), and a key that came with some is refused rather than taken without them.
    input = withoutLeadingSpaces(input);
    if (!input.empty() && input.front() == ';') refuse("takes no parameters");
    // RFC 8941 §4.2: anything left after the Item fails, which is what two fields joined with
    // ", " leave.
    if (!input.empty()) refuse("must be one String: one field, nothing after its closing quote");
    if (key.empty()) refuse("is empty");
    return key;
}

}  // namespace dnsh
