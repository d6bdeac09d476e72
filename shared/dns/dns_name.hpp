#pragma once
// A DNS name as a value (after PowerDNS's DNSName): equal to another name whatever the case of
// their ASCII letters (RFC 4343 §3), its parent, whether it lies in a zone, and its text with or
// without the trailing dot. Every comparison of names that came from DNS answers, from customers
// or from the configuration goes through it, so no place compares them as plain strings.
#include <cstddef>
#include <string>
#include <string_view>

namespace dnsh {

class DnsName {
public:
    // The root ("" or ".").
    DnsName() = default;
    // Presentation form, with or without the trailing dot ("Shop.Example.com."). The case is
    // kept for display; escapes (RFC 1035 §5.1: "a\.b", "\065") are kept as written and a label
    // boundary is an unescaped dot. Not validated (lengths, characters): names come from DNS
    // answers and normalised customer input.
    explicit DnsName(std::string_view text);

    bool isRoot() const { return text_.empty(); }
    // Without the trailing dot, case as given ("" for the root).
    const std::string& text() const { return text_; }
    // With the trailing dot ("." for the root).
    std::string fqdn() const { return text_ + "."; }
    // text() with ASCII letters in lower case: the canonical form to store and show.
    std::string lowered() const;

    std::size_t labelCount() const;
    // The name without its first label ("example.com" for "shop.example.com"); the root's parent
    // is the root.
    DnsName parent() const;
    // True when this name is `zone` or lies below it (PowerDNS's isPartOf): "a.b.c" is part of
    // "b.c" and of "a.b.c", not of "xb.c". Every name is part of the root.
    bool isPartOf(const DnsName& zone) const;
    // Strictly below `zone` (part of it and not the zone itself).
    bool isBelow(const DnsName& zone) const { return isPartOf(zone) && !(*this == zone); }

    // Case-insensitive for ASCII letters, the trailing dot ignored (RFC 4343 §3).
    friend bool operator==(const DnsName& a, const DnsName& b);

private:
    std::string text_;
};

}  // namespace dnsh
