#include "dns/persist_lookup.hpp"

#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cstdint>
#include <sstream>

#include "core/shown_text.hpp"
#include "dns/txt_check.hpp"

namespace dnsh {

PersistCheck persistCheckFrom(const std::string& name, const TxtLookup& lookup,
                              const std::vector<std::string>& issuerDomains,
                              const std::string& accountUri,
                              std::chrono::system_clock::time_point now) {
    const bool wildcard = name.starts_with("*.");
    PersistCheck check;
    check.name = name;
    check.recordName = persistRecordName(name);
    check.lookup = lookup.outcome;
    if (!issuerDomains.empty())
        check.suggestedValue = formatPersistRecord(issuerDomains.front(), accountUri, wildcard);
    switch (lookup.outcome) {
        case LookupOutcome::Found:
            // Through a CNAME out of the name: the count, not the values (dns/txt_check.hpp).
            check.found = valuesAsShown(lookup, DnsName(check.recordName), "");
            check.verdict =
                evaluatePersistRecords(lookup.values, issuerDomains, accountUri, wildcard, now);
            break;
        case LookupOutcome::NoRecords:
        case LookupOutcome::NxDomain:
            // An answer that nothing is there: the customer has not published it (yet).
            check.verdict = evaluatePersistRecords({}, issuerDomains, accountUri, wildcard, now);
            check.verdict.detail = "no TXT record at " + check.recordName;
            break;
        case LookupOutcome::ServFail:
        case LookupOutcome::Timeout:
        case LookupOutcome::Unreachable:
        case LookupOutcome::Failed:
            check.lookupFailure = txtFailure(lookup.outcome, 1);
            check.lookupDetail = lookup.detail;
            check.verdict.detail = "the DNS lookup for " + check.recordName + " failed";
            break;
    }
    return check;
}

PersistCheck checkPersistRecord(const DnsResolver& resolver, const std::string& name,
                                const std::vector<std::string>& issuerDomains,
                                const std::string& accountUri,
                                std::chrono::system_clock::time_point now) {
    return persistCheckFrom(name, resolver.lookupTxt(DnsName(persistRecordName(name))),
                            issuerDomains, accountUri, now);
}

std::string persistCheckJson(const PersistCheck& check) {
    Poco::JSON::Object json(Poco::JSON_PRESERVE_KEY_ORDER);
    // Our own: the ordered name and where its record is.
    json.set("name", check.name);
    json.set("record_name", check.recordName);
    json.set("outcome", check.lookupFailure ? std::string(toString(*check.lookupFailure))
                                            : std::string(toString(check.verdict.outcome)));
    json.set("detail", check.lookupFailure && !check.lookupDetail.empty()
                           ? check.verdict.detail + " (" + shownText(check.lookupDetail, 200) + ")"
                           : check.verdict.detail);
    // The customer's: what their DNS answered, capped and escaped.
    Poco::JSON::Array found;
    bool truncated = check.found.size() > kMaxSeenValues;
    for (std::size_t i = 0; i < check.found.size() && i < kMaxSeenValues; ++i)
        found.add(shownText(check.found[i], kMaxShownValueBytes, &truncated));
    json.set("found", found);
    if (truncated) {
        json.set("found_truncated", true);
        json.set("found_total", static_cast<Poco::Int64>(check.found.size()));
    }
    if (!check.usable() && !check.suggestedValue.empty())
        json.set("suggested_value", check.suggestedValue);
    if (check.usable() && check.verdict.persistUntil) {
        // RFC 3339 has four digits of year; later (and Poco's microseconds overflow past 9.2e12
        // seconds) is shown as the last second it can write.
        constexpr std::int64_t kLastShownSecond = 253'402'300'799;  // 9999-12-31T23:59:59Z
        const std::int64_t shown = std::min(*check.verdict.persistUntil, kLastShownSecond);
        json.set("persist_until",
                 Poco::DateTimeFormatter::format(
                     Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(shown)),
                     "%Y-%m-%dT%H:%M:%SZ"));
    }
    std::ostringstream out;
    json.stringify(out);
    return out.str();
}

}  // namespace dnsh
