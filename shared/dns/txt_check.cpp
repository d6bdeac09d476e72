#include "dns/txt_check.hpp"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <sstream>

namespace dnsh {

std::string txtResult(LookupOutcome outcome, std::size_t missing) {
    switch (outcome) {
        case LookupOutcome::Found:
            return missing == 0 ? "found" : "txt_mismatch";
        case LookupOutcome::NoRecords:
            return "txt_not_found";
        case LookupOutcome::NxDomain:
            return "dns_nxdomain";
        case LookupOutcome::Timeout:
            return "dns_timeout";
        case LookupOutcome::ServFail:
        case LookupOutcome::Failed:
            return "dns_servfail";
    }
    return "dns_servfail";
}

namespace {

std::string describe(const TxtCheck& check, const TxtLookup& lookup, std::size_t missing) {
    const std::string via = lookup.name.empty() || lookup.name == check.name
                                ? ""
                                : " (via CNAME to " + lookup.name + ")";
    const std::string detail = lookup.detail.empty() ? "" : " (" + lookup.detail + ")";
    switch (lookup.outcome) {
        case LookupOutcome::Found:
            if (missing == 0) return "found the expected TXT value(s) at " + check.name + via;
            return "found " + std::to_string(check.seen.size()) + " TXT value(s) at " + check.name +
                   via + ", " +
                   (missing == check.expected.size()
                        ? std::string("none matching")
                        : std::to_string(missing) + " of the " +
                              std::to_string(check.expected.size()) + " expected values missing");
        case LookupOutcome::NoRecords:
            return "no TXT record at " + check.name + via;
        case LookupOutcome::NxDomain:
            return check.name + " does not exist (NXDOMAIN)" + detail;
        case LookupOutcome::Timeout:
            return "the DNS lookup for " + check.name + " timed out" + detail;
        case LookupOutcome::ServFail:
        case LookupOutcome::Failed:
            return "the DNS servers failed to answer for " + check.name + " (SERVFAIL)" + detail;
    }
    return "DNS error";
}

std::string rfc3339(const Poco::Timestamp& at) {
    return Poco::DateTimeFormatter::format(at, "%Y-%m-%dT%H:%M:%SZ");
}

}  // namespace

TxtCheck checkTxt(const DnsResolver& resolver, const std::string& name,
                  const std::vector<std::string>& expected) {
    const TxtLookup lookup = resolver.lookupTxt(name);
    TxtCheck check{name, expected, lookup.values, "", "", "", {}, 0, 0};
    std::size_t missing = 0;
    for (const auto& value : expected)
        if (lookup.outcome != LookupOutcome::Found || !txtValuesContain(lookup.values, value))
            ++missing;
    check.result = txtResult(lookup.outcome, missing);
    check.description = describe(check, lookup, missing);
    return check;
}

TxtCheck redacted(TxtCheck check, const std::string& secret, const std::string& placeholder) {
    for (auto* values : {&check.expected, &check.seen})
        for (auto& value : *values)
            if (value == secret) value = placeholder;
    return check;
}

std::string txtCheckJson(const TxtCheck& check,
                         std::optional<std::chrono::milliseconds> nextCheckIn) {
    Poco::JSON::Object json(Poco::JSON_PRESERVE_KEY_ORDER);
    json.set("name", check.name);
    Poco::JSON::Array expected, seen;
    for (const auto& value : check.expected) expected.add(value);
    for (const auto& value : check.seen) seen.add(value);
    json.set("expected", expected);
    json.set("seen", seen);
    json.set("result", check.result);
    if (!check.zone.empty()) {
        json.set("zone", check.zone);
        Poco::JSON::Array servers;
        for (const auto& server : check.servers) {
            Poco::JSON::Object item(Poco::JSON_PRESERVE_KEY_ORDER);
            item.set("nameserver", server.nameserver);
            item.set("address", server.address);
            item.set("result", server.result);
            Poco::JSON::Array values;
            for (const auto& value : server.seen) values.add(value);
            item.set("seen", values);
            servers.add(item);
        }
        json.set("nameservers", servers);
        if (check.nameserversNotAsked > 0)
            json.set("nameservers_not_asked", static_cast<int>(check.nameserversNotAsked));
        if (check.addressesNotAsked > 0)
            json.set("addresses_not_asked", static_cast<int>(check.addressesNotAsked));
    }
    const Poco::Timestamp now;
    json.set("checked_at", rfc3339(now));
    if (nextCheckIn)
        json.set("next_check_at",
                 rfc3339(now + Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(
                                   nextCheckIn->count() * 1000))));
    std::ostringstream out;
    json.stringify(out);
    return out.str();
}

}  // namespace dnsh
