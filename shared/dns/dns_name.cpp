#include "dns/dns_name.hpp"

namespace dnsh {

namespace {

char lowerAscii(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalIgnoringCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
    return true;
}

// Where the first label ends: the first dot not escaped by a backslash; npos for one label.
std::size_t firstLabelEnd(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\') {
            ++i;  // the escaped character (or the first digit of \DDD) is no boundary
            continue;
        }
        if (text[i] == '.') return i;
    }
    return std::string_view::npos;
}

}  // namespace

DnsName::DnsName(std::string_view text) {
    // One trailing dot marks the name absolute; an escaped one ("a\.") belongs to the label.
    if (!text.empty() && text.back() == '.') {
        std::size_t backslashes = 0;
        for (std::size_t i = text.size() - 1; i > 0 && text[i - 1] == '\\'; --i) ++backslashes;
        if (backslashes % 2 == 0) text.remove_suffix(1);
    }
    text_ = std::string(text);
}

std::string DnsName::lowered() const {
    std::string out = text_;
    for (char& c : out) c = lowerAscii(c);
    return out;
}

std::size_t DnsName::labelCount() const {
    std::size_t count = 0;
    for (DnsName name = *this; !name.isRoot(); name = name.parent()) ++count;
    return count;
}

DnsName DnsName::parent() const {
    const std::size_t end = firstLabelEnd(text_);
    DnsName parent;
    if (end != std::string::npos) parent.text_ = text_.substr(end + 1);
    return parent;
}

bool DnsName::isPartOf(const DnsName& zone) const {
    if (zone.isRoot()) return true;
    // Label by label from the left, so "xb.c" is not taken for part of "b.c" and an escaped dot
    // is no boundary.
    for (DnsName name = *this; !name.isRoot(); name = name.parent())
        if (name.text_.size() == zone.text_.size()) return name == zone;
    return false;
}

bool operator==(const DnsName& a, const DnsName& b) {
    return equalIgnoringCase(a.text_, b.text_);
}

}  // namespace dnsh
