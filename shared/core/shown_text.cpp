#include "core/shown_text.hpp"

#include <vector>

namespace dnsh {

std::string shownText(std::string_view bytes, std::size_t maxBytes, bool* truncated) {
    static constexpr std::string_view kEllipsis = "...";
    std::string shown;
    // Where each byte's piece ends, to cut between pieces, never inside an escape.
    std::vector<std::size_t> ends;
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == '\\') {
            shown += "\\\\";
        } else if (byte >= 0x20 && byte < 0x7f) {
            shown += c;
        } else {
            shown += '\\';
            shown += static_cast<char>('0' + byte / 100);
            shown += static_cast<char>('0' + byte / 10 % 10);
            shown += static_cast<char>('0' + byte % 10);
        }
        ends.push_back(shown.size());
        if (shown.size() > maxBytes) break;  // the rest is cut anyway
    }
    if (shown.size() <= maxBytes) return shown;
    if (truncated != nullptr) *truncated = true;
    const std::size_t room = maxBytes > kEllipsis.size() ? maxBytes - kEllipsis.size() : 0;
    std::size_t keep = 0;
    for (const std::size_t end : ends)
        if (end <= room) keep = end;
    return shown.substr(0, keep) + std::string(kEllipsis);
}

}  // namespace dnsh
