#include "domain/domain_service.hpp"

#include <optional>
#include <string>
#include <utility>

#include "config/duration.hpp"
#include "core/error.hpp"
#include "crypto/keys.hpp"
#include "db/transaction.hpp"
#include "dns/dns_name.hpp"
#include "dns/txt_check.hpp"
#include "domain/delegation.hpp"
#include "domain/domain_name.hpp"
#include "domain/domain_repository.hpp"
#include "domain/domain_transition.hpp"
#include "domain/outbox.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

Domain requireDomain(Database& database, std::string_view id) {
    // A malformed id cannot exist: answer 404 without asking the database.
    if (!isDomainId(id)) throw Error(ErrorCode::NotFound, "domain not found");
    auto domain = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).findById(std::string(id));
    });
    if (!domain) throw Error(ErrorCode::NotFound, "domain not found");
    return std::move(*domain);  // a copy of its ~20 strings was 6% of a GET's instructions
}

// `x` and `*.x` share _acme-challenge.x (RFC 8555 §8.4) and each has its own delegation target:
// the other one of the pair when `cname` is its target, so that a cname_mismatch can say whose
// CNAME it is. One read by name, only on that error's path.
std::optional<Domain> siblingAtTarget(Database& database, const Domain& domain,
                                      const std::string& cname, const std::string& zone) {
    const std::string sibling =
        isWildcard(domain.domainName) ? baseDomain(domain.domainName) : "*." + domain.domainName;
    auto found = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).findByName(sibling);
    });
    if (!found || DnsName(delegationTarget(*found, zone)) != DnsName(cname)) return std::nullopt;
    return found;
}

// verify's 400 for a CNAME into the delegation zone that is not to this domain's target. When it
// is the sibling's (x for *.x, *.x for x), repointing it would take the sibling's delegation: the
// message says so rather than only asking for this domain's target (README "Zero-touch").
Error cnameMismatch(Database& database, const Domain& domain, const std::string& name,
                    const std::string& cname, const std::string& target,
                    const std::string& zone) {
    const std::string wrongTarget =
        name + " is a CNAME to " + cname + ", not to this domain's target " + target;
    const std::optional<Domain> sibling = siblingAtTarget(database, domain, cname, zone);
    const ErrorCode status = verifyFailureStatus(FailureCode::CnameMismatch);
    const std::string code(toString(FailureCode::CnameMismatch));
    if (!sibling)
        return Error(status, wrongTarget + ", and no verification token was found there", code);
    const std::string& other = sibling->domainName;
    const std::string wildcard = "*." + baseDomain(domain.domainName);
    return Error(status,
                 wrongTarget + ": " + cname + " is the delegation target of " + other +
                     " (domain " + sibling->id + "), which shares " + name +
                     " with this domain, and only one of the two can be delegated. "
                     "Repointing the CNAME " +
                     (sibling->delegationStatus == "active"
                          ? "stops " + other + "'s zero-touch renewals (delegation_lost)"
                          : "takes it from " + other) +
                     "; a certificate for " + wildcard + " covers " +
                     baseDomain(domain.domainName) + " too",
                 code);
}

}  // namespace

ErrorCode verifyFailureStatus(FailureCode failure) {
    if (failure == FailureCode::TxtMismatch || failure == FailureCode::CnameMismatch)
        return ErrorCode::BadRequest;
    return ErrorCode::FailedDependency;
}

Domain findDomain(Database& database, std::string_view id) {
    return requireDomain(database, id);
}

void prepareFindDomain(Database& database) {
    database.withSession([](Poco::Data::Session& session) {
        // Well formed (isDomainId), never generated: ids are random.
        return DomainRepository(session).findById(std::string(32, '0'));
    });
}

Domain verifyDomain(Database& database, const DnsResolver& resolver,
                    const std::string& delegationZone, std::string_view id) {
    const Domain domain = requireDomain(database, id);
    auto notPending = [](DomainStatus status) {
        // RFC 9110 §15.5.10: well formed, but the domain's state does not allow it (409).
        return Error(ErrorCode::Conflict, "domain is not pending verification, current status: " +
                                              std::string(toString(status)));
    };
    if (domain.status != DomainStatus::Pending) throw notPending(domain.status);
    const std::string name = challengeName(domain.domainName);

    // With delegation on, a CNAME at our own target is the proof (and the name then holds no
    // TXT); otherwise the token among the TXT records.
    const std::string target =
        delegationZone.empty()
            ? ""
            : delegationTarget(domain, delegationZone);
    // The CNAME's target as shown: lower case, without the trailing dot ("" for none, or a
    // lookup that failed: the TXT lookup then says what is wrong).
    std::string cname;
    if (!target.empty())
        if (const CnameLookup lookup = resolver.lookupCname(DnsName(name)); lookup.found())
            cname = lookup.target.lowered();
    const bool byCname = !cname.empty() && DnsName(cname) == DnsName(target);
    const TxtCheck check =
        byCname ? TxtCheck{name, {target}, {cname}, std::nullopt, "CNAME to " + target, "", {}, 0, 0}
                : redacted(checkTxt(resolver, name, {domain.verificationToken}, delegationZone),
                           domain.verificationToken, kTokenPlaceholder);
    logEvent(LogLevel::Info, "dns lookup",
             {{"domain_id", domain.id},
              {"name", check.name},
              {"by", byCname ? "cname" : "txt"},
              {"result", std::string(resultName(check.failure))},
              {"records", check.seen.size()}});
    const std::string checkJson = txtCheckJson(check);
    // Only while the domain is still pending: a call whose lookup ended after another call
    // verified it (a client's retry after a timeout) must neither answer with its DNS error nor
    // replace the checks the issuance has written since (409 below, as for a later call). The
    // check as stored: its checked_at is the database's, the one GET shows afterwards.
    std::optional<std::string> storedCheck;
    const auto verifiedAt = database.withSession(
        [&](Poco::Data::Session& session) -> std::optional<std::string> {
            DomainRepository repository(session);
            if (!check.passed()) {
                storedCheck = repository.recordPendingCheck(domain.id, checkJson);
                return std::nullopt;
            }
            std::optional<std::string> at;
            // The check, the change, the delegation status and its event commit together.
            inTransaction(session, [&] {
                storedCheck = repository.recordPendingCheck(domain.id, checkJson);
                if (!storedCheck) return false;
                at = transitionDomainAt(session, domain.id,
                                        {DomainStatus::Pending, DomainStatus::Verified, "", std::nullopt});
                if (!at) return false;
                if (byCname) repository.setDelegationStatus(domain.id, "active");
                recordDomainEvent(session, EventType::DomainVerified, domain.id);
                return true;
            });
            return at;
        });
    if (!storedCheck) throw notPending(requireDomain(database, id).status);
    if (!check.passed()) {
        // A CNAME into the delegation zone, but not to this domain's target: a wrong label. (A
        // CNAME elsewhere is the customer's own arrangement; its TXT answer says what is wrong.)
        if (!cname.empty() && isInZone(cname, delegationZone))
            throw cnameMismatch(database, domain, name, cname, target, delegationZone);
        // TXT records without the token: the customer's record is wrong (400). No record or a
        // lookup that failed: the DNS the request depends on (424).
        const ErrorCode status = verifyFailureStatus(*check.failure);
        const std::string code(toString(*check.failure));
        if (status == ErrorCode::BadRequest)
            throw Error(status, "verification token not found: " + check.description, code);
        throw Error(status,
                    "DNS lookup for " + check.name + " failed: " + check.description, code);
    }
    // A concurrent call verified it first: say what it is now.
    if (!verifiedAt) throw notPending(requireDomain(database, id).status);
    logEvent(LogLevel::Info, "domain verified", {{"domain_id", domain.id}});
    // The view after the change, from what was written (no read-back).
    Domain after = domain;
    after.status = DomainStatus::Verified;
    after.verifiedAt = after.updatedAt = *verifiedAt;
    after.lastCheck = storedCheck;
    if (byCname) after.delegationStatus = "active";
    return after;
}

Domain checkDomainNow(Database& database, std::chrono::milliseconds pollInterval,
                      std::string_view id) {
    const Domain domain = requireDomain(database, id);
    const auto request = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).requestDnsCheck(domain.id, pollInterval.count());
    });
    using Outcome = DomainRepository::DnsCheckRequest::Outcome;
    const std::chrono::milliseconds wait(request.waitMs);
    const std::string inSeconds = std::to_string((request.waitMs + 999) / 1000) + " s";
    switch (request.outcome) {
        case Outcome::Due:
            break;
        case Outcome::NothingWaiting:
            // RFC 9110 §15.5.10: well formed, but the domain's state does not allow it (409).
            throw Error(ErrorCode::Conflict,
                        "nothing is waiting for DNS for this domain, current status: " +
                            std::string(toString(domain.status)));
        case Outcome::Backoff:
            // A check brings a DNS lookup forward, never the retry after an error: the CA's
            // Retry-After (RFC 8555 §6.6) and our backoff are what keep its limits.
            throw Error::tooSoon(
                "the order for this domain waits out a backoff after an error (the CA's "
                "Retry-After or a DNS lookup that failed) for another " +
                    inSeconds + "; a check cannot bring it forward",
                wait);
        case Outcome::TooSoon:
            throw Error::tooSoon("a DNS lookup for this domain was brought forward less than "
                                 "POLL_INTERVAL (" +
                                     formatDuration(pollInterval) + ") ago; ask again in " +
                                     inSeconds,
                                 wait);
    }
    logEvent(LogLevel::Info, "dns check requested", {{"domain_id", domain.id}});
    return domain;
}

namespace {

// One less than the rows a page asks for: the last one tells whether a next page follows.
constexpr int kDefaultPageSize = DomainRepository::kUsualPageRows - 1;
constexpr int kMaxPageSize = 500;

// A cursor is "<microseconds>.<domain id>" of a page's last item: where the next page starts.
// Its form is in the document (a pattern), so any cursor of that form is a position to list
// from, made up or not; before, a base64url text that only this service could make was a 400 to
// every value the document called valid (found by schemathesis: `cursor=__dict__`). Both parts
// are in the items already: the cursor hides nothing.
std::string encodeCursor(const DomainRepository::PageCursor& last) {
    return std::to_string(last.createdAtMicros) + "." + last.id;
}

// At most 17 digits, no sign, no leading zero: before the year 5138, so that 'epoch' plus the
// value never overflows PostgreSQL's timestamptz (INT64_MAX did: a 500, issue 18 #11). Anything
// else is 400, before it reaches the database.
constexpr std::size_t kCursorMicrosDigits = 17;

DomainRepository::PageCursor decodeCursor(const std::string& cursor) {
    const Error bad(ErrorCode::BadRequest,
                    "cursor must be <microseconds>.<domain id>, as next_cursor gives it");
    const std::size_t dot = cursor.find('.');
    if (dot == std::string::npos || dot == 0 || dot > kCursorMicrosDigits) throw bad;
    const std::string digits = cursor.substr(0, dot);
    const std::string id = cursor.substr(dot + 1);
    if (digits.find_first_not_of("0123456789") != std::string::npos ||
        (digits.size() > 1 && digits.front() == '0') || !isDomainId(id))
        throw bad;
    return {id, std::stoll(digits)};
}

}  // namespace

DomainPage listDomains(Database& database, const std::map<std::string, std::string>& query) {
    for (const auto& [name, value] : query)
        if (name != "status" && name != "limit" && name != "cursor")
            throw Error(ErrorCode::BadRequest, "unknown query parameter " + name.substr(0, 40) +
                                                   "; use status, limit, cursor");
    auto get = [&](const char* name) {
        const auto found = query.find(name);
        return found == query.end() ? std::string() : found->second;
    };
    // A parameter with no value is not an absent one: `status=`, `limit=` and `cursor=` are 400
    // like any other value outside the document (found by schemathesis: `GET /domains?status=`
    // and `?cursor=` answered 200 with the first page).
    const std::string status = get("status");
    if (query.contains("status") && !parseDomainStatus(status))
        throw Error(ErrorCode::BadRequest,
                    "status must be one of pending, verified, certificate_pending, active, failed");
    int limit = kDefaultPageSize;
    if (query.contains("limit")) {
        const std::string text = get("limit");
        if (text.empty() || text.size() > 3 ||
            text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) < 1 ||
            std::stoi(text) > kMaxPageSize)
            throw Error(ErrorCode::BadRequest, "limit must be a whole number from 1 to 500");
        limit = std::stoi(text);
    }
    std::optional<DomainRepository::PageCursor> after;
    if (query.contains("cursor")) after = decodeCursor(get("cursor"));

    // One more than asked tells whether there is a next page.
    auto listed = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).listPage(status, limit + 1, after);
    });
    DomainPage page;
    if (static_cast<int>(listed.size()) > limit) {
        listed.resize(static_cast<std::size_t>(limit));
        page.nextCursor = encodeCursor(listed.back().cursor);
    }
    page.items.reserve(listed.size());
    for (auto& item : listed) page.items.push_back(std::move(item.domain));
    return page;
}

CertificateInfo findNewestCertificate(Database& database, std::string_view domainId) {
    // The domain view carries the newest certificate's metadata: one statement.
    const Domain domain = requireDomain(database, domainId);
    if (!domain.certificate)
        throw Error(ErrorCode::NotFound, "no certificate issued for this domain yet");
    return *domain.certificate;
}

}  // namespace dnsh
