#include "dns/caa_record.hpp"

#include "core/shown_text.hpp"
#include "dns/txt_check.hpp"

namespace dnsh {

std::optional<CaaRecord> parseCaaRdata(const DnsName& owner, std::string_view rdata) {
    if (rdata.size() < 2) return std::nullopt;
    const auto tagLength = static_cast<unsigned char>(rdata[1]);
    if (tagLength == 0 || rdata.size() < 2 + std::size_t{tagLength}) return std::nullopt;
    return CaaRecord{owner, static_cast<std::uint8_t>(rdata[0]),
                     std::string(rdata.substr(2, tagLength)),
                     std::string(rdata.substr(2 + std::size_t{tagLength}))};
}

std::string caaPresentation(const CaaRecord& record, std::size_t maxValueBytes) {
    // The tag and value escaped as TXT values are (shownText), a quote too: the value is quoted.
    std::string value;
    for (const char c : shownText(record.value, maxValueBytes)) {
        if (c == '"') value += '\\';
        value += c;
    }
    return shownText(record.owner.lowered(), kMaxShownNameBytes) + ". CAA " +
           std::to_string(record.flags) + " " + shownText(record.tag, 32) + " \"" + value + "\"";
}

}  // namespace dnsh
