#include "dns/precheck.hpp"

#include <algorithm>
#include <future>
#include <optional>

#include "dns/lookup_metrics.hpp"

namespace dnsh {

namespace {

constexpr std::uint16_t kDnsPort = 53;

// A lookup run on a thread of its own: an exception (a resolver that cannot be set up) becomes
// a failed answer instead of escaping the future.
template <typename Lookup>
std::future<DnsResponse> inParallel(Lookup lookup) {
    return std::async(std::launch::async, [lookup]() {
        try {
            return lookup();
        } catch (const std::exception& e) {
            return DnsResponse{LookupOutcome::Failed, {}, {}, e.what()};
        }
    });
}

// RFC 2308 §2.1/§2.2: a negative answer carries the zone's SOA in its authority section; a
// positive SOA answer names the zone itself. Walks up until one of them says where the cut is
// (a zone the name is part of; anything else in the answer is ignored).
std::optional<DnsName> zoneOf(const DnsResolver& resolver, DnsName name, DnsDeadline deadline,
                              DnsResponse& failed) {
    const DnsName start = name;
    while (!name.isRoot()) {
        const DnsResponse soa = resolver.query(name, RecordType::Soa, deadline);
        if (soa.outcome != LookupOutcome::Found && soa.outcome != LookupOutcome::NxDomain) {
            failed = soa;
            return std::nullopt;
        }
        if (!recordData(soa.answer, RecordType::Soa, name).empty()) return name;
        for (const auto& record : soa.authority)
            if (record.type == RecordType::Soa && start.isPartOf(record.owner)) return record.owner;
        name = name.parent();
    }
    failed = {LookupOutcome::ServFail, {}, {}, "no SOA found above the name"};
    return std::nullopt;
}

TxtCheck failure(TxtCheck check, std::optional<FailureCode> failure,
                 const std::string& description) {
    check.failure = failure;
    check.description = description;
    return check;
}

// An error result of a lookup that did not get an answer: the deadline or a server's silence
// is a timeout, anything else a failure.
FailureCode errorResult(LookupOutcome outcome) {
    return noAnswer(outcome) ? FailureCode::DnsTimeout : FailureCode::DnsServfail;
}

// Why `address` may not be asked ("" when it may): not an address, or not public unicast and in
// no network of DNS_PRECHECK_ALLOW.
std::string refusal(const std::string& address, const std::vector<IpNetwork>& allowed) {
    const auto parsed = parseIpAddress(address);
    if (!parsed) return "not an IP address";
    const std::string_view kind = nonPublicKind(*parsed);
    if (kind.empty()) return "";
    for (const auto& network : allowed)
        if (network.contains(*parsed)) return "";
    return std::string(kind);
}

struct Nameserver {
    std::string name;
    std::vector<std::string> addresses;
    std::optional<FailureCode> lookupFailure;  // when it has no address: dns_timeout or dns_servfail
    std::string lookupDetail;
};

struct Candidate {
    std::size_t nameserver;  // index into the nameservers
    std::string address;
    std::string refusedAs;  // "" when it is asked
};

}  // namespace

std::chrono::milliseconds precheckBudget(std::chrono::milliseconds lease) {
    return std::min(kPrecheckMaxDuration, lease / 4);
}

TxtCheck checkTxtAuthoritative(const DnsResolver& resolver, const std::string& name,
                               const std::vector<std::string>& expected,
                               const PrecheckLimits& limits) {
    TxtCheck check{name, expected, {}, std::nullopt, "", "", {}, 0, 0};
    const DnsDeadline deadline = limits.deadline;
    // 1. Where the chain ends (a CNAME into a delegation zone, say), each name asked for its
    // CNAME through the resolver.
    const CnameChain chain = followCnames(
        DnsName(name), RecordType::Cname,
        [&](const DnsName& at, RecordType type) { return resolver.query(at, type, deadline); });
    const DnsName& current = chain.end;
    if (chain.tooLong)
        return failure(check, FailureCode::DnsServfail,
                       "CNAME chain longer than " + std::to_string(kMaxCnameHops) + " at " + name);
    if (chain.response.outcome != LookupOutcome::Found &&
        chain.response.outcome != LookupOutcome::NxDomain)
        return failure(
            check, txtFailure(chain.response.outcome, expected.size()),
            "the CNAME lookup for " + current.text() + " failed (" + chain.response.detail + ")");
    // 2. The zone it is in, and that zone's nameservers (at most kPrecheckMaxNameservers).
    DnsResponse zoneFailure;
    const auto zone = zoneOf(resolver, current, deadline, zoneFailure);
    if (!zone)
        return failure(check, errorResult(zoneFailure.outcome),
                       "no zone found for " + current.text() + " (" + zoneFailure.detail + ")");
    check.zone = zone->lowered();
    const DnsResponse ns = resolver.query(*zone, RecordType::Ns, deadline);
    std::vector<std::string> names;
    for (const auto& nameserver : recordData(ns.answer, RecordType::Ns, *zone))
        names.push_back(DnsName(nameserver).lowered());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (names.empty())
        return failure(check, errorResult(ns.outcome),
                       "no NS records for the zone " + check.zone + " (" + ns.detail + ")");
    if (names.size() > kPrecheckMaxNameservers) {
        check.nameserversNotAsked = names.size() - kPrecheckMaxNameservers;
        names.resize(kPrecheckMaxNameservers);
    }

    // 3. Their addresses, all looked up at once.
    std::vector<Nameserver> nameservers;
    std::vector<std::future<DnsResponse>> addressLookups;
    for (const auto& nameserver : names) {
        nameservers.push_back({nameserver, {}, std::nullopt, ""});
        for (const RecordType type : {RecordType::A, RecordType::Aaaa})
            addressLookups.push_back(inParallel([&resolver, nameserver, type, deadline] {
                return resolver.query(DnsName(nameserver), type, deadline);
            }));
    }
    for (std::size_t i = 0; i < nameservers.size(); ++i) {
        Nameserver& nameserver = nameservers[i];
        bool timedOut = false;
        bool answered = true;  // both questions answered: addresses, no data or NXDOMAIN
        for (std::size_t j = 0; j < 2; ++j) {
            const RecordType type = j == 0 ? RecordType::A : RecordType::Aaaa;
            const DnsResponse response = addressLookups[2 * i + j].get();
            timedOut = timedOut || noAnswer(response.outcome);
            answered = answered && (response.outcome == LookupOutcome::Found ||
                                    response.outcome == LookupOutcome::NxDomain);
            if (!response.detail.empty() && nameserver.lookupDetail.empty())
                nameserver.lookupDetail = response.detail;
            for (const auto& record : response.answer)
                if (record.type == type &&
                    std::find(nameserver.addresses.begin(), nameserver.addresses.end(),
                              record.data) == nameserver.addresses.end())
                    nameserver.addresses.push_back(record.data);
        }
        // Servers rotate their answers: in order, the same addresses are asked every time.
        std::sort(nameserver.addresses.begin(), nameserver.addresses.end());
        // A name the DNS says has no address (a stale NS record, a provider left long ago) is
        // one no CA can ask either: listed, not held against the zone. One whose lookup failed
        // may have addresses that do not serve the value.
        if (nameserver.addresses.empty() && !answered)
            nameserver.lookupFailure = timedOut ? FailureCode::DnsTimeout : FailureCode::DnsServfail;
    }

    // 4. Which addresses are asked: in turn from each nameserver, allowed ones, at most
    // kPrecheckMaxAddresses; refused ones are listed (never asked) in what room is left.
    std::vector<Candidate> asked, refused;
    std::size_t total = 0;
    for (std::size_t round = 0;; ++round) {
        bool more = false;
        for (std::size_t i = 0; i < nameservers.size(); ++i) {
            if (round >= nameservers[i].addresses.size()) continue;
            more = true;
            ++total;
            const std::string& address = nameservers[i].addresses[round];
            Candidate candidate{i, address, refusal(address, limits.allowed)};
            if (!candidate.refusedAs.empty())
                refused.push_back(candidate);
            else if (asked.size() < kPrecheckMaxAddresses)
                asked.push_back(candidate);
        }
        if (!more) break;
    }
    refused.resize(std::min(refused.size(), kPrecheckMaxAddresses - asked.size()));
    check.addressesNotAsked = total - asked.size() - refused.size();

    // 5. The TXT values at every address asked, all at once, without recursion.
    std::vector<std::future<DnsResponse>> txtLookups;
    for (const auto& candidate : asked)
        txtLookups.push_back(inParallel([&resolver, &current, candidate, deadline] {
            const DnsServer server{candidate.address, kDnsPort};
            return queryServer(&server, current, RecordType::Txt, false, resolver.timeout(),
                               deadline);
        }));
    struct Asked {
        NameserverAnswer answer;
        std::string description;
    };
    std::vector<Asked> answers;
    std::size_t reached = 0;  // addresses a question could be sent to
    for (std::size_t k = 0; k < asked.size(); ++k) {
        const Candidate& candidate = asked[k];
        const std::string& nameserver = nameservers[candidate.nameserver].name;
        const DnsResponse txt = txtLookups[k].get();
        countDnsLookup(txt.outcome);
        const std::vector<std::string> seen = recordData(txt.answer, RecordType::Txt, current);
        std::size_t missing = 0;
        for (const auto& value : expected)
            if (!txtValuesContain(seen, value)) ++missing;
        LookupOutcome outcome = txt.outcome;
        if (outcome == LookupOutcome::Found && seen.empty()) outcome = LookupOutcome::NoRecords;
        const std::string where = nameserver + " (" + candidate.address + ") ";
        if (outcome == LookupOutcome::Unreachable) {
            // Nothing to compare: listed, not held against the zone (its other addresses are).
            answers.push_back({{nameserver, candidate.address, std::nullopt, {},
                                AddressAsked::Unreachable},
                               where + "could not be sent to: " + txt.detail});
            continue;
        }
        ++reached;
        const std::optional<FailureCode> failed = txtFailure(outcome, missing);
        answers.push_back(
            {{nameserver, candidate.address, failed, seen, AddressAsked::Asked},
             where + (failed == FailureCode::TxtMismatch
                          ? "has " + std::to_string(seen.size()) + " TXT value(s) at " +
                                current.text() + ", " + std::to_string(missing) +
                                " expected value(s) missing"
                      : failed == FailureCode::TxtNotFound ? "has no TXT record at " + current.text()
                                                  : "failed: " + txt.detail)});
    }

    // 6. The check, nameserver by nameserver, and its result: a timeout first (it is what costs
    // the scheduler), then the first other failure, else found.
    std::optional<FailureCode> worst;
    std::string description;
    auto note = [&](const std::optional<FailureCode>& failed, const std::string& why) {
        if (!failed) return;
        if (!worst || (failed == FailureCode::DnsTimeout && worst != FailureCode::DnsTimeout)) {
            worst = failed;
            description = why;
        }
    };
    for (std::size_t i = 0; i < nameservers.size(); ++i) {
        const Nameserver& nameserver = nameservers[i];
        if (nameserver.addresses.empty()) {
            check.servers.push_back({nameserver.name, "", nameserver.lookupFailure, {},
                                     nameserver.lookupFailure ? AddressAsked::Asked
                                                              : AddressAsked::NoAddress});
            note(nameserver.lookupFailure,
                 "the nameserver " + nameserver.name + " of " + check.zone + " has no address" +
                     (nameserver.lookupDetail.empty() ? "" : " (" + nameserver.lookupDetail + ")"));
            continue;
        }
        for (std::size_t k = 0; k < asked.size(); ++k) {
            if (asked[k].nameserver != i) continue;
            check.servers.push_back(answers[k].answer);
            if (check.seen.empty()) check.seen = answers[k].answer.seen;
            const bool wasFound = !worst;
            note(answers[k].answer.failure, answers[k].description);
            if (wasFound && worst) check.seen = answers[k].answer.seen;
        }
        for (const auto& candidate : refused)
            if (candidate.nameserver == i)
                check.servers.push_back({nameserver.name, candidate.address, std::nullopt, {},
                                         AddressAsked::NotAllowed});
    }
    if (!asked.empty() && reached == 0) {
        // Every address asked was out of this host's reach (an IPv4-only host, a zone served
        // over IPv6 alone): nothing was compared, so nothing passed.
        worst = FailureCode::DnsTimeout;
        description = "no nameserver address of " + check.zone +
                      " could be sent a question from this host: " + answers.front().description;
    }
    if (asked.empty() && refused.empty() && !worst) {
        // Not one nameserver of the zone has an address: nothing was compared.
        worst = FailureCode::DnsServfail;
        description = "no nameserver of " + check.zone + " has an address (" + names.front() +
                      (nameservers.front().lookupDetail.empty()
                           ? ""
                           : ": " + nameservers.front().lookupDetail) +
                      ")";
    }
    if (asked.empty() && !refused.empty()) {
        worst = FailureCode::DnsAddressNotAllowed;
        description = "no nameserver address of " + check.zone + " may be asked: " +
                      refused.front().address + " (" +
                      nameservers[refused.front().nameserver].name + ") is " +
                      refused.front().refusedAs +
                      " (only public addresses are asked, and those in DNS_PRECHECK_ALLOW)";
    }
    check.failure = worst;
    if (!worst) {
        description = "every nameserver of " + check.zone + " asked serves the value(s) at " +
                      current.text();
        if (!refused.empty())
            description += " (" + std::to_string(refused.size()) +
                           " address(es) not asked: not public, not in DNS_PRECHECK_ALLOW)";
        if (reached < asked.size())
            description += " (" + std::to_string(asked.size() - reached) +
                           " address(es) this host cannot send to)";
        const auto addressless =
            std::count_if(check.servers.begin(), check.servers.end(), [](const auto& server) {
                return server.asked == AddressAsked::NoAddress;
            });
        if (addressless > 0)
            description += " (" + std::to_string(addressless) +
                           " nameserver(s) without an address, which no CA can ask)";
    }
    check.description = description;
    return check;
}

TxtCheck precheckTxt(DnsPrecheck mode, const DnsResolver& resolver, const std::string& name,
                     const std::vector<std::string>& expected, const PrecheckLimits& limits,
                     const std::string& delegationZone) {
    // The authoritative servers, not a resolver's cache, are what the CA will see.
    return mode == DnsPrecheck::Authoritative
               ? checkTxtAuthoritative(resolver, name, expected, limits)
               : checkTxt(resolver, name, expected, delegationZone);
}

}  // namespace dnsh
