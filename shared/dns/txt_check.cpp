#include "dns/txt_check.hpp"

#include <Poco/JSON/Object.h>

#include <sstream>

#include "core/shown_text.hpp"

namespace dnsh {

std::optional<FailureCode> txtFailure(LookupOutcome outcome, std::size_t missing) {
    switch (outcome) {
        case LookupOutcome::Found:
            if (missing == 0) return std::nullopt;
            return FailureCode::TxtMismatch;
        case LookupOutcome::NoRecords:
            return FailureCode::TxtNotFound;
        case LookupOutcome::NxDomain:
            return FailureCode::DnsNxdomain;
        case LookupOutcome::Timeout:
        case LookupOutcome::Unreachable:
            return FailureCode::DnsTimeout;
        case LookupOutcome::ServFail:
        case LookupOutcome::Failed:
            return FailureCode::DnsServfail;
    }
    return FailureCode::DnsServfail;
}

std::string_view resultName(const std::optional<FailureCode>& failure) {
    return failure ? toString(*failure) : "found";
}

std::string_view addressResult(const NameserverAnswer& server) {
    switch (server.asked) {
        case AddressAsked::Asked:
            return resultName(server.failure);
        // Not asked: not a failure of the zone, a rule of ours (DNS_PRECHECK_ALLOW).
        case AddressAsked::NotAllowed:
            return "address_not_allowed";
        // Not a failure of the zone either: this host has no way to it.
        case AddressAsked::Unreachable:
            return "address_unreachable";
        // A nameserver name that resolves to nothing (a stale NS record): no CA asks it.
        case AddressAsked::NoAddress:
            return "no_address";
    }
    return "found";
}

namespace {

std::string describe(const TxtCheck& check, const TxtLookup& lookup, std::size_t missing) {
    const std::string via = lookup.name.isRoot() || lookup.name == DnsName(check.name)
                                ? ""
                                : " (via CNAME to " + lookup.name.text() + ")";
    const std::string detail = lookup.detail.empty() ? "" : " (" + lookup.detail + ")";
    switch (lookup.outcome) {
        case LookupOutcome::Found:
            if (missing == 0) return "found the expected TXT value(s) at " + check.name + via;
            return "found " + std::to_string(lookup.values.size()) + " TXT value(s) at " +
                   check.name + via + ", " +
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
        case LookupOutcome::Unreachable:
            return "the DNS lookup for " + check.name + " could not be sent" + detail;
        case LookupOutcome::ServFail:
        case LookupOutcome::Failed:
            return "the DNS servers failed to answer for " + check.name + " (SERVFAIL)" + detail;
    }
    return "DNS error";
}

}  // namespace

std::vector<std::string> valuesAsShown(const TxtLookup& lookup, const DnsName& queried,
                                       const std::string& delegationZone) {
    const DnsName& reached = lookup.name;
    const bool ours = reached.isRoot() || reached == queried ||
                      reached.isPartOf(queried.parent()) ||
                      (!delegationZone.empty() && reached.isPartOf(DnsName(delegationZone)));
    if (ours || lookup.values.empty()) return lookup.values;
    // The target is the customer's choice: its name goes last, so the cap of a shown value
    // (kMaxShownValueBytes, escaped where it is shown) cuts it rather than what it means.
    // Appended in turn: GCC 12's -Wrestrict misreads a chain of + starting from "(".
    std::string shown = "(";
    shown += std::to_string(lookup.values.size());
    shown += " value(s) not shown: CNAME out of the domain to ";
    shown += reached.text().substr(0, kMaxShownNameBytes);
    shown += ")";
    return {shown};
}

TxtCheck checkTxt(const DnsResolver& resolver, const std::string& name,
                  const std::vector<std::string>& expected, const std::string& delegationZone) {
    const TxtLookup lookup = resolver.lookupTxt(DnsName(name));
    TxtCheck check{name, expected, valuesAsShown(lookup, DnsName(name), delegationZone),
                   std::nullopt, "", "", {}, 0, 0};
    std::size_t missing = 0;
    for (const auto& value : expected)
        if (lookup.outcome != LookupOutcome::Found || !txtValuesContain(lookup.values, value))
            ++missing;
    check.failure = txtFailure(lookup.outcome, missing);
    check.description = describe(check, lookup, missing);
    return check;
}

TxtCheck redacted(TxtCheck check, const std::string& secret, const std::string& placeholder) {
    if (secret.empty()) return check;
    auto mask = [&](std::vector<std::string>& values) {
        for (auto& value : values)
            if (value == secret) value = placeholder;
    };
    mask(check.expected);
    mask(check.seen);
    // DNS_PRECHECK=authoritative: every nameserver's answer holds its own copy.
    for (auto& server : check.servers) mask(server.seen);
    return check;
}

std::string withoutToken(std::string text, const std::string& token) {
    if (token.empty()) return text;
    const std::string mask = kTokenPlaceholder;
    for (std::size_t at = text.find(token); at != std::string::npos;
         at = text.find(token, at + mask.size()))
        text.replace(at, token.size(), mask);
    return text;
}

namespace {

// "seen" (and the marker when it is not everything) of a check or of one nameserver.
void setSeen(Poco::JSON::Object& json, const std::vector<std::string>& values,
             std::size_t maxValues) {
    Poco::JSON::Array seen;
    bool truncated = values.size() > maxValues;
    for (std::size_t i = 0; i < values.size() && i < maxValues; ++i)
        seen.add(shownText(values[i], kMaxShownValueBytes, &truncated));
    json.set("seen", seen);
    if (!truncated) return;
    json.set("seen_truncated", true);
    json.set("seen_total", static_cast<Poco::Int64>(values.size()));
}

}  // namespace

std::string txtCheckJson(const TxtCheck& check) {
    Poco::JSON::Object json(Poco::JSON_PRESERVE_KEY_ORDER);
    // Our own: the challenge name and the values we asked for.
    json.set("name", check.name);
    Poco::JSON::Array expected;
    for (const auto& value : check.expected) expected.add(value);
    json.set("expected", expected);
    // The customer's: what their DNS answered, capped and escaped.
    setSeen(json, check.seen, kMaxSeenValues);
    json.set("result", std::string(resultName(check.failure)));
    if (!check.zone.empty()) {
        json.set("zone", shownText(check.zone, kMaxShownNameBytes));
        Poco::JSON::Array servers;
        for (std::size_t i = 0; i < check.servers.size() && i < kMaxListedNameservers; ++i) {
            const NameserverAnswer& server = check.servers[i];
            Poco::JSON::Object item(Poco::JSON_PRESERVE_KEY_ORDER);
            item.set("nameserver", shownText(server.nameserver, kMaxShownNameBytes));
            item.set("address", shownText(server.address, kMaxShownNameBytes));
            item.set("result", std::string(addressResult(server)));
            setSeen(item, server.seen, kMaxNameserverSeenValues);
            servers.add(item);
        }
        json.set("nameservers", servers);
        if (check.nameserversNotAsked > 0)
            json.set("nameservers_not_asked", static_cast<int>(check.nameserversNotAsked));
        if (check.addressesNotAsked > 0)
            json.set("addresses_not_asked", static_cast<int>(check.addressesNotAsked));
    }
    std::ostringstream out;
    json.stringify(out);
    return out.str();
}

}  // namespace dnsh
