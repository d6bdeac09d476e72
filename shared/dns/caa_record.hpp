#pragma once
// One CAA record (RFC 8659 §4.1): its flags, property tag and value, read from the RDATA bytes a
// server sent, and shown as a zone file line.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dns/dns_name.hpp"

namespace dnsh {

struct CaaRecord {
    DnsName owner;
    std::uint8_t flags = 0;
    std::string tag;    // as sent; tags match without regard to case (RFC 8659 §4.1)
    std::string value;  // as sent: any bytes
    // RFC 8659 §4.1: bit 0 of the flags (128), Issuer Critical.
    bool critical() const { return (flags & 0x80) != 0; }
};

// RFC 8659 §4.1: flags (1 byte), tag length (1 byte, 1..255), tag, value (the rest). Nothing when
// the RDATA is shorter than that says or the tag is empty.
std::optional<CaaRecord> parseCaaRdata(const DnsName& owner, std::string_view rdata);

// The record as a zone file line, `example.com. CAA 0 issue "ca.example"` (RFC 8659 §4.1.1): the
// value quoted, a quote and a backslash escaped, any byte outside printable ASCII as `\DDD`
// (RFC 1035 §5.1), cut to about `maxValueBytes` (ending with "...") when longer.
std::string caaPresentation(const CaaRecord& record, std::size_t maxValueBytes);

}  // namespace dnsh
