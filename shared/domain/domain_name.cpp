#include "domain/domain_name.hpp"

#include <arpa/inet.h>
#include <idn2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "dns/persist_record.hpp"

namespace dnsh {

namespace {

constexpr std::size_t kMaxInputLength = 1024;
constexpr std::size_t kMaxNameLength = 253;  // RFC 1035 §2.3.4: 255 octets on the wire
constexpr std::size_t kMaxLabelLength = 63;
// The service queries the name under a label (dns-01, RFC 8555 §8.4; dns-persist-01,
// draft-ietf-acme-dns-persist-00 §4), and that query name must be within kMaxNameLength too:
// a longer name could be registered but never verified (ldns cannot encode the query).
constexpr std::size_t kMaxBaseNameLength =
    kMaxNameLength - std::max(kAcmeChallengeLabel.size(), kPersistLabel.size()) - 1;
static_assert(kMaxBaseNameLength == 233, "README and deploy/api/openapi.json state 233");

[[noreturn]] void invalid(const std::string& why) {
    throw Error(ErrorCode::BadRequest, "invalid domain_name: " + why);
}

bool isAscii(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool isLdh(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool isIpAddress(const std::string& text) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string toALabels(const std::string& name) {
    char* output = nullptr;
    // UTS #46 non-transitional processing maps case and compatibility forms, then IDNA 2008.
    const int rc = idn2_to_ascii_8z(name.c_str(), &output, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    std::unique_ptr<char, decltype(&idn2_free)> owned(output, &idn2_free);
    if (rc != IDN2_OK)
        invalid(std::string("not a valid internationalised name (") + idn2_strerror(rc) + ")");
    return owned.get();
}

void validateLabel(std::string_view label, std::size_t position) {
    const std::string where = "label " + std::to_string(position);
    if (label.empty()) invalid("empty label (two dots in a row, or a leading dot)");
    if (label.size() > kMaxLabelLength)
        invalid(where + " is " + std::to_string(label.size()) + " characters; the limit is 63");
    for (char c : label) {
        if (!isLdh(c))
            invalid(where + " contains a character other than letters, digits and hyphens");
    }
    if (label.front() == '-' || label.back() == '-')
        invalid(where + " starts or ends with a hyphen");
    // RFC 5891 §4.2.3.1: "??--" is reserved for A-labels ("xn--"); libidn2 checked those.
    if (label.size() >= 4 && label.substr(2, 2) == "--" && label.substr(0, 4) != "xn--")
        invalid(where + " has hyphens in the third and fourth positions");
}

// The limit is below RFC 1035's, so the message says why.
[[noreturn]] void tooLong(const std::string& what) {
    invalid(what + "; the limit is " + std::to_string(kMaxBaseNameLength) +
            " characters, so that the challenge names " + std::string(kAcmeChallengeLabel) +
            ".<name> and " + std::string(kPersistLabel) + ".<name> fit in " +
            std::to_string(kMaxNameLength) + " characters");
}

std::string normalizeHostName(std::string_view input, bool wildcardBase);

}  // namespace

std::string normalizeDomainName(std::string_view input) {
    // "*.example.com": a wildcard in the leftmost label only (RFC 8555 §7.1.3), whose base is
    // an ordinary name. Its challenges are at the base name's (§8.4), so "*." adds no length
    // to them: the base's limit is the wildcard's.
    if (input.substr(0, 2) != "*.") return normalizeHostName(input, false);
    return "*." + normalizeHostName(input.substr(2), true);
}

namespace {

std::string normalizeHostName(std::string_view input, bool wildcardBase) {
    if (input.empty()) invalid("must not be empty");
    if (input.size() > kMaxInputLength) tooLong("too long");
    if (input.find('\0') != std::string_view::npos) invalid("contains a NUL byte");
    std::string name(input);
    const bool trailingDot = name.back() == '.';
    if (trailingDot) name.pop_back();  // the root label is implied
    if (name.empty()) invalid("must not be just a dot");
    if (name.find('*') != std::string::npos)
        invalid("a wildcard is allowed only as the whole leftmost label, e.g. *.example.com");
    if (name.find_first_of(" \t\r\n/:@[]") != std::string::npos)
        invalid("contains spaces or URL characters; send only the host name, e.g. example.com");
    if (isIpAddress(name)) invalid("IP addresses cannot be registered, only domain names");

    if (isAscii(name)) {
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        // An ASCII name that claims to be an A-label must round-trip through IDNA.
        bool hasALabel = false;
        for (std::size_t at = 0; (at = name.find("xn--", at)) != std::string::npos; at += 4)
            if (at == 0 || name[at - 1] == '.') hasALabel = true;
        if (hasALabel) name = toALabels(name);
    } else {
        name = toALabels(name);
        // UTS #46 maps other full stops (U+3002, U+FF0E, U+FF61) to '.': one may end the name
        // (once: a name already ending in '.' keeps the second one and fails as an empty label).
        if (!trailingDot && !name.empty() && name.back() == '.') name.pop_back();
    }

    if (name.size() > kMaxBaseNameLength)
        tooLong("is " + std::to_string(name.size()) + " characters" +
                (wildcardBase ? " after \"*.\"" : ""));
    std::size_t labels = 0;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = name.find('.', start);
        const std::string_view label = std::string_view(name).substr(
            start, dot == std::string::npos ? std::string::npos : dot - start);
        validateLabel(label, ++labels);
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (labels < 2) invalid("needs at least two labels, e.g. example.com");
    const std::string_view tld = std::string_view(name).substr(name.rfind('.') + 1);
    if (std::all_of(tld.begin(), tld.end(), [](char c) { return c >= '0' && c <= '9'; }))
        invalid("the top-level label cannot be all digits");
    return name;
}

}  // namespace

bool isWildcard(std::string_view domainName) {
    return domainName.substr(0, 2) == "*.";
}

std::string baseDomain(std::string_view domainName) {
    return std::string(isWildcard(domainName) ? domainName.substr(2) : domainName);
}

std::vector<std::string> certificateNames(std::string_view domainName) {
    if (isWildcard(domainName)) return {std::string(domainName), baseDomain(domainName)};
    return {std::string(domainName)};
}

std::string challengeName(std::string_view domainName) {
    // RFC 8555 §8.4: a wildcard's challenge lives at its base name.
    return std::string(kAcmeChallengeLabel) + "." + baseDomain(domainName);
}

bool isDomainId(std::string_view text) {
    return text.size() == 32 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

}  // namespace dnsh
