#include "dns/persist_record.hpp"

#include <idn2.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "core/shown_text.hpp"

namespace dnsh {

namespace {

// RFC 8659 §4.2's WSP: space and tab only.
std::string_view trimWsp(std::string_view text) {
    const auto isWsp = [](char c) { return c == ' ' || c == '\t'; };
    while (!text.empty() && isWsp(text.front())) text.remove_prefix(1);
    while (!text.empty() && isWsp(text.back())) text.remove_suffix(1);
    return text;
}

std::string lowerAscii(std::string_view text) {
    std::string lowered(text);
    for (char& c : lowered)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return lowered;
}

bool isAscii(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// The most of a record's issuer that is normalised: a name the CA can accept is at most 253
// octets (§3.1); UTS #46 drops some code points, so a longer input could still map to one, but
// customer data is bounded before it reaches libidn2.
constexpr std::size_t kMaxIssuerInputBytes = 1024;
constexpr std::size_t kMaxIssuerDomainNameBytes = 253;  // §3.1

// The customer's bytes inside a detail: escaped and cut (core/shown_text.hpp).
std::string quoted(std::string_view bytes) {
    // Appended, not "\"" + text + "\"": GCC 12 wrongly warns (-Wrestrict) on that.
    std::string text(1, '"');
    text += shownText(bytes, kMaxPersistQuotedBytes);
    text += '"';
    return text;
}

// RFC 8659 §4.2's value: %x21-3A / %x3C-7E (no space, no ';', no control or 8-bit byte).
bool validValue(std::string_view value) {
    return std::all_of(value.begin(), value.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x21 && byte <= 0x7e && byte != ';';
    });
}

// A base-10 integer with an optional sign, in range of int64 (Go's strconv.ParseInt, which Pebble
// uses for persistUntil, §2).
std::optional<std::int64_t> parseUnixSeconds(std::string_view text) {
    const bool plus = text.starts_with('+');
    if (plus) text.remove_prefix(1);
    if (text.empty() || (plus && text.starts_with('-'))) return std::nullopt;
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// now > persistUntil, to the sub-second as the CA compares (Pebble: ValidatedAt.After), without
// converting a far-off persistUntil into the clock's nanoseconds.
bool passed(std::int64_t persistUntil, std::chrono::system_clock::time_point now) {
    const auto sinceEpoch = now.time_since_epoch();
    const auto seconds = std::chrono::floor<std::chrono::seconds>(sinceEpoch);
    const std::int64_t whole = seconds.count();
    return whole > persistUntil || (whole == persistUntil && sinceEpoch > seconds);
}

struct Judged {
    PersistOutcome outcome = PersistOutcome::Missing;
    std::string detail;
    std::optional<std::int64_t> persistUntil;
};

// The known parameters (§4 items 3 to 5): each may appear once (§9.2.1: a duplicate is
// malformed); any other tag is ignored, repeated or not (§4 item 1).
enum class KnownTag { AccountUri, Policy, PersistUntil, Other };

// RFC 8659 §4.2: tags are case-insensitive (compared without copying the customer's tag).
KnownTag knownTag(std::string_view tag) {
    const auto is = [tag](std::string_view lowercase) {
        return tag.size() == lowercase.size() &&
               std::equal(tag.begin(), tag.end(), lowercase.begin(), [](char a, char b) {
                   return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
               });
    };
    if (is("accounturi")) return KnownTag::AccountUri;
    if (is("policy")) return KnownTag::Policy;
    if (is("persistuntil")) return KnownTag::PersistUntil;
    return KnownTag::Other;
}

// One TXT value judged in the CA's order (Boulder's va/dns_persist.go): issuer, syntax,
// accounturi, policy, persistUntil. `issuerDomains`: the CA's names, normalised.
Judged judge(std::string_view record, const std::vector<std::string>& issuerDomains,
             const std::string& accountUri, bool wildcard,
             std::chrono::system_clock::time_point now) {
    // §4 item 1: RFC 8659 §4.2 issue-value, "issuer-domain-name *(';' parameter)".
    const std::size_t semicolon = record.find(';');
    const std::string_view issuer = trimWsp(record.substr(0, semicolon));
    const std::string_view parameters =
        semicolon == std::string_view::npos ? std::string_view() : record.substr(semicolon + 1);
    if (issuer.empty()) return {};
    // §4: "When comparing issuer domain names, the server MUST adhere to the normalization rules"
    // of §3.1, so "LetsEncrypt.org" and "letsencrypt.org." name letsencrypt.org. §4.1.2: a
    // record naming another issuer (or no domain name) is for another CA: ignored.
    const std::optional<std::string> normalised = normalizeIssuerDomainName(issuer);
    if (!normalised ||
        std::find(issuerDomains.begin(), issuerDomains.end(), *normalised) == issuerDomains.end())
        return {};
    const std::string issuerShown = quoted(issuer);
    const auto malformed = [&](const std::string& why) {
        return Judged{PersistOutcome::Malformed, "the record for " + issuerShown + " " + why,
                      std::nullopt};
    };
    std::optional<std::string_view> account, policy;
    std::optional<std::int64_t> persistUntil;
    bool seen[3] = {false, false, false};  // one flag per KnownTag but Other
    if (semicolon != std::string_view::npos) {
        std::size_t start = 0;
        while (true) {
            const std::size_t end = parameters.find(';', start);
            const std::string_view parameter = trimWsp(parameters.substr(start, end - start));
            if (parameter.empty()) return malformed("has an empty parameter or a trailing ';'");
            const std::size_t equals = parameter.find('=');
            if (equals == std::string_view::npos)
                return malformed("has " + quoted(parameter) + ", not tag=value");
            const std::string_view tag = trimWsp(parameter.substr(0, equals));
            const std::string_view value = trimWsp(parameter.substr(equals + 1));
            if (tag.empty()) return malformed("has " + quoted(parameter) + " without a tag");
            // RFC 8659 §4.2's value syntax holds for every parameter, unknown ones too (§4 item
            // 1: the RDATA MUST conform to it; Boulder checks every value).
            if (!validValue(value))
                return malformed("has the value " + quoted(value) + " for " + quoted(tag) +
                                 " (spaces, control and 8-bit bytes are not allowed)");
            // §4 item 1: "the server MUST ignore any parameter within the issue-value that has
            // an unrecognized tag": only a known tag is looked at further, and only a known one
            // given twice is malformed (Boulder alike).
            const KnownTag known = knownTag(tag);
            if (known != KnownTag::Other) {
                bool& given = seen[static_cast<int>(known)];
                if (given) return malformed("repeats " + quoted(tag));
                given = true;
            }
            if (known == KnownTag::AccountUri) {
                if (value.empty()) return malformed("has an empty accounturi");
                account = value;
            } else if (known == KnownTag::Policy) {
                policy = value;
            } else if (known == KnownTag::PersistUntil) {
                persistUntil = parseUnixSeconds(value);
                if (!persistUntil)
                    return malformed("has persistUntil " + quoted(value) +
                                     ", not UNIX seconds as an integer");
            }
            if (end == std::string_view::npos) break;
            start = end + 1;
        }
    }
    // §4 item 3: accounturi is mandatory.
    if (!account) return malformed("has no accounturi");
    if (*account != accountUri)
        return {PersistOutcome::WrongAccount,
                "the record for " + issuerShown + " names the account " + quoted(*account) +
                    ", not " + quoted(accountUri),
                std::nullopt};
    // §4 item 4, §5: only policy=wildcard (any case) widens the scope; other values count as none.
    if (wildcard && (!policy || lowerAscii(*policy) != "wildcard"))
        return {PersistOutcome::NeedsWildcardPolicy,
                "the record for " + issuerShown + " lacks policy=wildcard, which a wildcard needs",
                std::nullopt};
    // §4 item 5: not for new validations after persistUntil.
    if (persistUntil && passed(*persistUntil, now))
        return {PersistOutcome::Expired,
                "the record for " + issuerShown + " has persistUntil " +
                    std::to_string(*persistUntil) + ", which has passed",
                std::nullopt};
    return {PersistOutcome::Usable, "the record for " + issuerShown + " names our account",
            persistUntil};
}

// Which verdict wins among several records: a usable one, then what the CA reports first (Boulder
// and Pebble: syntax errors before authorization errors), then our own account's record over
// another account's, then none.
int rank(PersistOutcome outcome) {
    switch (outcome) {
        case PersistOutcome::Usable:
            return 0;
        case PersistOutcome::Malformed:
            return 1;
        case PersistOutcome::NeedsWildcardPolicy:
        case PersistOutcome::Expired:
            return 2;
        case PersistOutcome::WrongAccount:
            return 3;
        case PersistOutcome::Missing:
            return 4;
    }
    return 4;
}

std::string bounded(std::string detail) {
    if (detail.size() <= kMaxPersistDetailBytes) return detail;
    detail.resize(kMaxPersistDetailBytes - 3);
    return detail + "...";
}

}  // namespace

std::optional<std::string> normalizeIssuerDomainName(std::string_view name) {
    if (name.empty() || name.size() > kMaxIssuerInputBytes) return std::nullopt;
    // libidn2 reads a C string: a NUL would cut the name short.
    if (name.find('\0') != std::string_view::npos) return std::nullopt;
    // §9.1.1 step 4, the trailing dot, first: the root label is implied.
    const bool trailingDot = name.ends_with('.');
    if (trailingDot) name.remove_suffix(1);
    std::string normalised;
    if (isAscii(name)) {
        // §9.1.1 step 1 for an ASCII name; steps 2 and 3 leave it as it is.
        normalised = lowerAscii(name);
    } else {
        // Case-folding, NFC and A-labels (§9.1.1 steps 1 to 3): UTS #46 non-transitional
        // processing, as domain names are normalised everywhere here (domain/domain_name.cpp).
        char* output = nullptr;
        const int rc = idn2_to_ascii_8z(std::string(name).c_str(), &output,
                                        IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        const std::unique_ptr<char, decltype(&idn2_free)> owned(output, &idn2_free);
        if (rc != IDN2_OK || output == nullptr) return std::nullopt;
        normalised = output;
        // UTS #46 maps U+3002 and the other full stops to '.': one may end the name (once).
        if (!trailingDot && normalised.ends_with('.')) normalised.pop_back();
    }
    if (normalised.empty() || normalised.size() > kMaxIssuerDomainNameBytes) return std::nullopt;
    return normalised;
}

std::string persistRecordName(const std::string& name) {
    const std::string base = name.starts_with("*.") ? name.substr(2) : name;
    return std::string(kPersistLabel) + "." + base;
}

std::string formatPersistRecord(const std::string& issuerDomain, const std::string& accountUri,
                                bool wildcard) {
    // §3.1's form (a CA should send it so already): what the customer copies is canonical.
    std::string record = normalizeIssuerDomainName(issuerDomain).value_or(issuerDomain);
    record += "; accounturi=" + accountUri;
    if (wildcard) record += "; policy=wildcard";
    return record;
}

PersistVerdict evaluatePersistRecords(const std::vector<std::string>& txtValues,
                                      const std::vector<std::string>& issuerDomains,
                                      const std::string& accountUri, bool wildcard,
                                      std::chrono::system_clock::time_point now) {
    // §4: compared normalised on both sides; a CA's name that is none is compared as it is.
    std::vector<std::string> normalisedIssuers;
    for (const auto& issuer : issuerDomains)
        normalisedIssuers.push_back(normalizeIssuerDomainName(issuer).value_or(issuer));
    std::optional<Judged> best;
    for (const auto& value : txtValues) {
        Judged judged = judge(value, normalisedIssuers, accountUri, wildcard, now);
        if (!best || rank(judged.outcome) < rank(best->outcome)) best = std::move(judged);
        if (best->outcome == PersistOutcome::Usable) break;
    }
    PersistVerdict verdict;
    if (best && best->outcome != PersistOutcome::Missing) {
        verdict.outcome = best->outcome;
        verdict.detail = bounded(std::move(best->detail));
        verdict.persistUntil = best->persistUntil;
        return verdict;
    }
    const std::string issuer =
        issuerDomains.empty() ? std::string("(none)") : quoted(issuerDomains.front());
    const std::string more =
        issuerDomains.size() > 1
            ? " or another of the CA's " + std::to_string(issuerDomains.size()) + " issuer names"
            : "";
    verdict.detail =
        bounded(txtValues.empty() ? "no TXT value"
                                  : "none of the " + std::to_string(txtValues.size()) +
                                        " TXT value(s) names the CA's issuer " + issuer + more);
    return verdict;
}

bool mayNamePersistUntil(const std::vector<std::string>& txtValues) {
    return std::any_of(txtValues.begin(), txtValues.end(), [](const std::string& value) {
        return lowerAscii(value).find("persistuntil") != std::string::npos;
    });
}

}  // namespace dnsh
