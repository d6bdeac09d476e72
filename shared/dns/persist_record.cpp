#include "dns/persist_record.hpp"

#include <algorithm>
#include <charconv>
#include <set>

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

// One TXT value judged in Pebble's order: issuer, syntax, accounturi, policy, persistUntil.
Judged judge(std::string_view record, const std::vector<std::string>& issuerDomains,
             const std::string& accountUri, bool wildcard,
             std::chrono::system_clock::time_point now) {
    // §4 item 1: RFC 8659 §4.2 issue-value, "issuer-domain-name *(';' parameter)".
    const std::size_t semicolon = record.find(';');
    const std::string_view issuer = trimWsp(record.substr(0, semicolon));
    const std::string_view parameters =
        semicolon == std::string_view::npos ? std::string_view() : record.substr(semicolon + 1);
    if (issuer.empty()) return {};
    // §4 item 2 and §4.1.2: a record naming another issuer is for another CA: ignored.
    const auto named = std::find(issuerDomains.begin(), issuerDomains.end(), issuer);
    if (named == issuerDomains.end()) {
        // §3.1, §7.6: the CA compares byte for byte with its lowercase, dot-less names, so the same
        // name in another case or with a trailing dot is refused: say how to write it.
        std::string loose = lowerAscii(issuer);
        if (loose.ends_with('.')) loose.pop_back();
        for (const auto& candidate : issuerDomains)
            if (lowerAscii(candidate) == loose)
                return {PersistOutcome::Malformed,
                        "issuer-domain-name " + quoted(issuer) + " must be written " +
                            quoted(candidate) + " (lowercase, no trailing dot)",
                        std::nullopt};
        return {};
    }
    const std::string issuerShown = quoted(issuer);
    const auto malformed = [&](const std::string& why) {
        return Judged{PersistOutcome::Malformed, "the record for " + issuerShown + " " + why,
                      std::nullopt};
    };
    std::optional<std::string_view> account, policy;
    std::optional<std::int64_t> persistUntil;
    std::set<std::string> seen;
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
            // RFC 8659 §4.2: tags are case-insensitive; one of each.
            const std::string key = lowerAscii(tag);
            if (!seen.insert(key).second) return malformed("repeats " + quoted(tag));
            if (!validValue(value))
                return malformed("has the value " + quoted(value) + " for " + quoted(tag) +
                                 " (spaces, control and 8-bit bytes are not allowed)");
            if (key == "accounturi") {
                if (value.empty()) return malformed("has an empty accounturi");
                account = value;
            } else if (key == "policy") {
                policy = value;
            } else if (key == "persistuntil") {
                persistUntil = parseUnixSeconds(value);
                if (!persistUntil)
                    return malformed("has persistUntil " + quoted(value) +
                                     ", not UNIX seconds as an integer");
            }
            // §4 item 1: any other tag is ignored (forward compatibility).
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

// Which verdict wins among several records: a usable one, then what the CA reports first (Pebble:
// syntax errors before authorization errors), then our own account's record over another account's,
// then none.
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

std::string persistRecordName(const std::string& name) {
    const std::string base = name.starts_with("*.") ? name.substr(2) : name;
    return std::string(kPersistLabel) + "." + base;
}

std::string formatPersistRecord(const std::string& issuerDomain, const std::string& accountUri,
                                bool wildcard) {
    std::string record = issuerDomain + "; accounturi=" + accountUri;
    if (wildcard) record += "; policy=wildcard";
    return record;
}

PersistVerdict evaluatePersistRecords(const std::vector<std::string>& txtValues,
                                      const std::vector<std::string>& issuerDomains,
                                      const std::string& accountUri, bool wildcard,
                                      std::chrono::system_clock::time_point now) {
    std::optional<Judged> best;
    for (const auto& value : txtValues) {
        Judged judged = judge(value, issuerDomains, accountUri, wildcard, now);
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

}  // namespace dnsh
