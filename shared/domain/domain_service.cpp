#include "domain/domain_service.hpp"

#include "core/error.hpp"
#include "crypto/random.hpp"
#include "domain/domain_name.hpp"
#include "domain/domain_repository.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

constexpr std::size_t kIdBytes = 16;
constexpr std::size_t kTokenBytes = 32;

Domain requireDomain(Database& database, std::string_view id) {
    // A malformed id cannot exist: answer 404 without asking the database.
    if (!isDomainId(id)) throw Error(ErrorCode::NotFound, "domain not found");
    auto domain = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).findById(std::string(id));
    });
    if (!domain) throw Error(ErrorCode::NotFound, "domain not found");
    return *domain;
}

[[noreturn]] void dnsFailure(const TxtLookup& lookup, const std::string& name) {
    std::string message =
        "DNS lookup for " + name + " failed: " + std::string(toString(lookup.outcome));
    if (!lookup.detail.empty()) message += " (" + lookup.detail + ")";
    throw Error(ErrorCode::FailedDependency, message);
}

}  // namespace

Domain registerDomain(Database& database, std::string_view requestedName) {
    const std::string name = normalizeDomainName(requestedName);
    const std::string id = randomHex(kIdBytes);
    const std::string token = randomHex(kTokenBytes);
    const bool inserted = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).insert(id, name, token);
    });
    if (!inserted) throw Error(ErrorCode::Conflict, "domain " + name + " is already registered");
    logEvent(LogLevel::Info, "domain registered", {{"domain_id", id}, {"domain_name", name}});
    return requireDomain(database, id);
}

Domain findDomain(Database& database, std::string_view id) {
    return requireDomain(database, id);
}

Domain verifyDomain(Database& database, const DnsResolver& resolver, std::string_view id) {
    const Domain domain = requireDomain(database, id);
    auto notPending = [](DomainStatus status) {
        return Error(ErrorCode::BadRequest, "domain is not pending verification, current status: " +
                                                std::string(toString(status)));
    };
    if (domain.status != DomainStatus::Pending) throw notPending(domain.status);

    const std::string name = challengeName(domain.domainName);
    const TxtLookup lookup = resolver.lookupTxt(name);
    logEvent(LogLevel::Info, "txt lookup",
             {{"domain_id", domain.id},
              {"name", name},
              {"outcome", std::string(toString(lookup.outcome))},
              {"records", lookup.values.size()}});
    if (lookup.outcome != LookupOutcome::Found) dnsFailure(lookup, name);
    if (!txtValuesContain(lookup.values, domain.verificationToken)) {
        const std::string via = lookup.name == name ? "" : " (via CNAME to " + lookup.name + ")";
        throw Error(ErrorCode::BadRequest, "verification token not found among the " +
                                               std::to_string(lookup.values.size()) +
                                               " TXT record(s) at " + name + via);
    }

    const bool won = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).compareAndSetStatus(domain.id, DomainStatus::Pending,
                                                             DomainStatus::Verified);
    });
    const Domain after = requireDomain(database, id);
    if (!won) throw notPending(after.status);  // a concurrent call verified it first
    logEvent(LogLevel::Info, "domain verified", {{"domain_id", domain.id}});
    return after;
}

CertificateInfo findNewestCertificate(Database& database, std::string_view domainId) {
    const Domain domain = requireDomain(database, domainId);
    auto certificate = database.withSession([&](Poco::Data::Session& session) {
        return DomainRepository(session).newestCertificate(domain.id);
    });
    if (!certificate) throw Error(ErrorCode::NotFound, "no certificate issued for this domain yet");
    return *certificate;
}

}  // namespace dnsh
