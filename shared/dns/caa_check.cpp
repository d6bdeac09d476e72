#include "dns/caa_check.hpp"

#include <Poco/JSON/Object.h>

#include <algorithm>
#include <sstream>

#include "core/shown_text.hpp"
#include "dns/txt_check.hpp"

namespace dnsh {

namespace {

FailureCode lookupFailure(LookupOutcome outcome) {
    return noAnswer(outcome) ? FailureCode::DnsTimeout : FailureCode::DnsServfail;
}

std::string resultOf(const CaaNameCheck& name) {
    if (name.lookup.failed()) return std::string(toString(lookupFailure(name.lookup.outcome)));
    if (name.undecided) return std::string(toString(name.undecided->failure));
    return std::string(kCaaVerdictNames.toString(name.decision.verdict));
}

// The record that lets the CA issue, in the set that forbade it (one record allowing it is
// enough, RFC 8659 §4.2). When only validationmethods stood in the way, the customer's own record
// with our method added (RFC 8657 §4): a record without it would lift their restriction; shown
// only whole. Else a plain issue (a wildcard: issuewild, §4.3) with the CA's first identity.
std::string suggestion(const CaaNameCheck& name, const CaaIssuer& issuer, bool wildcard) {
    if (issuer.identities.empty() || name.decision.unknownCritical) return "";
    if (name.decision.recordWithOurMethod) {
        CaaRecord amended = *name.decision.recordWithOurMethod;
        bool cut = false;
        shownText(amended.value, kMaxSuggestedCaaValueBytes, &cut);
        if (cut) return "";
        amended.owner = name.lookup.owner;
        return caaPresentation(amended, kMaxSuggestedCaaValueBytes);
    }
    const CaaRecord record{name.lookup.owner, 0, wildcard ? "issuewild" : "issue",
                           issuer.identities.front()};
    return caaPresentation(record, kMaxShownCaaValueBytes);
}

// A text made of pieces already shown (escaped and cut), cut to `maxBytes` when longer.
std::string bounded(std::string text, std::size_t maxBytes) {
    if (text.size() <= maxBytes) return text;
    text.resize(maxBytes - 3);
    return text + "...";
}

std::string describeForbidden(const CaaNameCheck& name, const CaaIssuer& issuer) {
    std::string text = "CAA at " + name.lookup.foundAt.lowered() + " forbids " +
                       issuer.identities.front() + " to issue for " + name.name + ": " +
                       name.decision.reason;
    if (name.decision.unknownCritical) {
        text += "; remove that record or its critical flag";
    } else if (name.decision.recordWithOurMethod) {
        // The customer chose the methods (RFC 8657 §4): we name the one we would use.
        text += "; to allow it, add " + name.ours.front() + " to the validationmethods of its " +
                (name.decision.issuewild ? "issuewild" : "issue") + " record naming " +
                issuer.identities.front();
        if (!name.suggestedRecord.empty()) text += ": " + name.suggestedRecord;
    } else {
        text += "; to allow it, add: " + name.suggestedRecord;
    }
    return text;
}

}  // namespace

FailureCode CaaCheck::failureCode() const {
    if (result == CaaResult::Forbidden) return FailureCode::CaaForbidden;
    if (deadlinePassed) return FailureCode::DnsTimeout;
    for (const auto& name : names) {
        if (name.lookup.failed()) return lookupFailure(name.lookup.outcome);
        if (name.undecided) return name.undecided->failure;
    }
    return FailureCode::Internal;
}

bool CaaCheck::allowsMethod(const std::string& name, std::string_view method) const {
    for (const auto& checked : names) {
        if (!(DnsName(checked.name) == DnsName(name))) continue;
        const auto& allowed = checked.decision.allowedMethods;
        return !checked.failed() &&
               std::find(allowed.begin(), allowed.end(), method) != allowed.end();
    }
    return true;
}

CaaCheck checkCaaWith(const std::vector<std::string>& names, const CaaIssuer& issuer,
                      const CaaMethodsFor& oursFor,
                      const std::function<CaaLookup(const DnsName&)>& lookup) {
    CaaCheck check;
    check.identities = issuer.identities;
    if (issuer.identities.empty()) {
        check.result = CaaResult::Skipped;
        check.description =
            "the CA's directory lists no caaIdentities (RFC 8555 section 7.1.1): CAA not checked";
        return check;
    }
    // A wildcard and its base name share one search (RFC 8659 §3): asked once.
    std::vector<std::pair<DnsName, CaaLookup>> searched;
    for (const auto& name : names) {
        const bool wildcard = name.starts_with("*.");
        const DnsName start = wildcard ? DnsName(name).parent() : DnsName(name);
        auto found = std::find_if(searched.begin(), searched.end(),
                                  [&](const auto& entry) { return entry.first == start; });
        if (found == searched.end())
            found = searched.insert(searched.end(), {start, lookup(start)});
        CaaNameCheck checked;
        checked.name = name;
        checked.lookup = found->second;
        if (!checked.lookup.failed()) {
            const CaaOurMethods ours = oursFor(name);
            checked.ours = ours.known;
            checked.decision =
                evaluateCaa(checked.lookup.records, wildcard, issuer, checked.ours);
            // RFC 8657 §4: a record that lists the method we could not tell (its lookup failed)
            // and none we know is no refusal: had that lookup answered "usable", it would allow.
            if (!checked.decision.allowed() && ours.unknown &&
                evaluateCaa(checked.lookup.records, wildcard, issuer, {ours.unknown->method})
                    .allowed())
                checked.undecided = ours.unknown;
            else if (!checked.decision.allowed())
                checked.suggestedRecord = suggestion(checked, issuer, wildcard);
        }
        check.names.push_back(std::move(checked));
    }
    std::vector<std::string> forbidden, failed;
    for (const auto& name : check.names) {
        if (name.lookup.failed()) {
            failed.push_back(
                "the CAA lookup for " + name.name + " failed at " +
                (name.lookup.asked.empty() ? name.name : name.lookup.asked.back().lowered()) +
                " (" + name.lookup.detail + ")");
        } else if (name.undecided) {
            const std::string& method = name.undecided->method;
            failed.push_back("the " + method + " lookup for " + name.name + " failed (" +
                             shownText(name.undecided->detail, 300) + "), and CAA lets " +
                             issuer.identities.front() + " validate it with " + method +
                             " and no other method of ours (RFC 8657 section 4)");
        } else if (!name.decision.allowed()) {
            forbidden.push_back(describeForbidden(name, issuer));
            if (!name.suggestedRecord.empty() &&
                std::find(check.suggestedRecords.begin(), check.suggestedRecords.end(),
                          name.suggestedRecord) == check.suggestedRecords.end())
                check.suggestedRecords.push_back(name.suggestedRecord);
        }
    }
    // A refusal is an answer; a failed lookup is none: a refusal wins.
    auto joined = [](const std::vector<std::string>& parts) {
        std::string text;
        for (const auto& part : parts) text += (text.empty() ? "" : "; ") + part;
        return text;
    };
    if (!forbidden.empty()) {
        check.result = CaaResult::Forbidden;
        check.description = joined(forbidden);
    } else if (!failed.empty()) {
        check.result = CaaResult::LookupFailed;
        check.description = joined(failed) + ": CAA is checked again before the order";
    } else {
        check.result = CaaResult::Allowed;
        check.description = "CAA allows " + issuer.identities.front() + " to issue for every name";
    }
    return check;
}

std::string caaCheckJson(const CaaCheck& check) {
    Poco::JSON::Object json(Poco::JSON_PRESERVE_KEY_ORDER);
    json.set("result", check.result == CaaResult::LookupFailed
                           ? std::string(toString(check.failureCode()))
                           : std::string(kCaaResultNames.toString(check.result)));
    Poco::JSON::Array identities;
    for (std::size_t i = 0; i < check.identities.size() && i < kMaxShownCaaIdentities; ++i)
        identities.add(shownText(check.identities[i], kMaxShownNameBytes));
    json.set("ca_identities", identities);
    Poco::JSON::Array names;
    for (const auto& name : check.names) {
        Poco::JSON::Object item(Poco::JSON_PRESERVE_KEY_ORDER);
        item.set("name", name.name);
        Poco::JSON::Array asked;
        for (std::size_t i = 0; i < name.lookup.asked.size() && i < kMaxShownCaaAsked; ++i)
            asked.add(shownText(name.lookup.asked[i].lowered(), kMaxShownNameBytes));
        item.set("asked", asked);
        if (name.lookup.asked.size() > kMaxShownCaaAsked) item.set("asked_truncated", true);
        if (name.lookup.outcome == LookupOutcome::Found)
            item.set("found_at", shownText(name.lookup.foundAt.lowered(), kMaxShownNameBytes));
        // The customer's records: at most kMaxShownCaaRecords, each value cut and escaped.
        Poco::JSON::Array records;
        const std::size_t total = name.lookup.records.size() + name.lookup.unparsable;
        bool truncated = total > kMaxShownCaaRecords || name.lookup.unparsable > 0;
        for (std::size_t i = 0; i < name.lookup.records.size() && i < kMaxShownCaaRecords; ++i) {
            const std::string shown =
                caaPresentation(name.lookup.records[i], kMaxShownCaaValueBytes);
            truncated = truncated || name.lookup.records[i].value.size() > kMaxShownCaaValueBytes;
            records.add(shown);
        }
        item.set("records", records);
        if (truncated) {
            item.set("records_truncated", true);
            item.set("records_total", static_cast<Poco::Int64>(total));
        }
        item.set("result", resultOf(name));
        if (name.lookup.failed())
            item.set("reason", shownText(name.lookup.detail, 300));
        else if (name.undecided)
            item.set("reason", bounded(name.decision.reason + "; the " + name.undecided->method +
                                           " lookup failed: " +
                                           shownText(name.undecided->detail, 300),
                                       kMaxShownCaaReasonBytes));
        else
            item.set("reason", bounded(name.decision.reason, kMaxShownCaaReasonBytes));
        if (!name.failed()) {
            Poco::JSON::Array methods;
            for (const auto& method : name.decision.allowedMethods) methods.add(method);
            item.set("validation_methods", methods);
        }
        if (!name.suggestedRecord.empty()) item.set("suggested_record", name.suggestedRecord);
        names.add(item);
    }
    json.set("names", names);
    if (!check.suggestedRecords.empty()) {
        Poco::JSON::Array suggested;
        for (const auto& record : check.suggestedRecords) suggested.add(record);
        json.set("suggested_records", suggested);
    }
    json.set("description", check.description);
    std::ostringstream out;
    json.stringify(out);
    return out.str();
}

}  // namespace dnsh
