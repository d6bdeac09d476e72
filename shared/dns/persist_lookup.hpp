#pragma once
// The dns-persist-01 check of one ordered name (draft-ietf-acme-dns-persist-00 §4): the TXT
// values at _validation-persist.<name> through the resolver (CNAMEs followed, as for any TXT
// lookup), what they mean for our account (dns/persist_record.hpp), and the bounded JSON a domain
// view shows, capped like a TXT check's (dns/txt_check.hpp).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/failure_code.hpp"
#include "dns/persist_record.hpp"
#include "dns/resolver.hpp"

namespace dnsh {

struct PersistCheck {
    std::string name;        // as ordered: "shop.example.com" or "*.shop.example.com"
    std::string recordName;  // persistRecordName(name)
    LookupOutcome lookup = LookupOutcome::Failed;
    std::vector<std::string> found;  // every TXT value there, as the DNS gave it
    // When the lookup answered (Found, NoRecords, NxDomain: nothing there is Missing).
    PersistVerdict verdict;
    // When the lookup failed (SERVFAIL, timeout): dns_servfail or dns_timeout; nothing is known
    // about the record, ask again.
    std::optional<FailureCode> lookupFailure;
    std::string lookupDetail;    // the failure: which server said what
    std::string suggestedValue;  // what to publish: formatPersistRecord with the first issuer
    bool usable() const { return !lookupFailure && verdict.usable(); }
};

// Looks the record of `name` up and judges it for `accountUri` with the CA's issuer domain names
// (the challenge's issuer-domain-names, draft §3.1) at `now`. A wildcard name needs
// policy=wildcard (§5).
PersistCheck checkPersistRecord(const DnsResolver& resolver, const std::string& name,
                                const std::vector<std::string>& issuerDomains,
                                const std::string& accountUri,
                                std::chrono::system_clock::time_point now);

// As checkPersistRecord, from a lookup already made (the tests' answers).
PersistCheck persistCheckFrom(const std::string& name, const TxtLookup& lookup,
                              const std::vector<std::string>& issuerDomains,
                              const std::string& accountUri,
                              std::chrono::system_clock::time_point now);

// "found" lists at most kMaxSeenValues values of at most kMaxShownValueBytes each, escaped.
// {name, record_name, outcome, detail, found, found_truncated?, found_total?, suggested_value?,
// persist_until?, checked_at}: outcome is kPersistOutcomeNames's name, or dns_servfail or
// dns_timeout when the lookup failed; suggested_value unless usable; persist_until (RFC 3339)
// when the usable record has one. Never more than kMaxCheckJsonBytes - kCheckTimesBytes. Without
// checked_at: the statement that stores the check appends it from PostgreSQL's clock
// (domain/check_times.hpp).
std::string persistCheckJson(const PersistCheck& check);

}  // namespace dnsh
