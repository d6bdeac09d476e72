#include "issuance/authorization_release.hpp"

#include <algorithm>
#include <set>

#include "domain/domain_name.hpp"

namespace dnsh {

namespace {

// The names an authorization may be for: its identifier, or, when stored before migration 027
// without one, any name of its order's certificate.
std::vector<std::string> possibleIdentifiers(const HeldAuthorization& authorization,
                                             const std::string& domainName) {
    if (!authorization.identifier.empty()) return {authorization.identifier};
    return certificateNames(domainName);
}

// RFC 8555 §7.5.2: an order nobody will finish gives its authorizations back, so they stop
// counting against the account (pending ones are limited) and our one account per CA keeps no
// authority for a name that is no longer a customer's. But a CA reuses a valid authorization
// for any order of the same account and name (Let's Encrypt for 30 days; §7.1.4 lets it): a
// wildcard's base name "x" is also the domain "x", and the other domain's order then depends on
// this authorization without listing it (placeOrder stores only those not yet valid). So an
// authorization for a name another verified domain's certificate needs stays: deactivating it
// would make that order's finalize fail. Names nobody else on the platform has are given back.
std::vector<std::string> authorizationsToGiveBack(Poco::Data::Session& session,
                                                  const std::string& domainId,
                                                  const std::string& domainName,
                                                  const std::vector<HeldAuthorization>& held) {
    if (held.empty()) return {};
    std::set<std::string> asked;
    for (const auto& authorization : held)
        for (auto& name : possibleIdentifiers(authorization, domainName))
            asked.insert(std::move(name));
    const std::set<std::string> needed =
        DomainRepository(session).identifiersNeededElsewhere(domainId, asked);
    std::vector<std::string> urls;
    for (const auto& authorization : held) {
        const std::vector<std::string> names = possibleIdentifiers(authorization, domainName);
        const bool shared = std::any_of(names.begin(), names.end(), [&](const std::string& name) {
            return needed.count(name) > 0;
        });
        if (!shared) urls.push_back(authorization.url);
    }
    return urls;
}

}  // namespace

std::vector<HeldAuthorization> heldAuthorizations(const std::vector<OrderChallenge>& challenges) {
    std::vector<HeldAuthorization> held;
    for (const auto& challenge : challenges)
        held.push_back(HeldAuthorization{challenge.authorizationUrl, challenge.identifier});
    return held;
}

std::vector<HeldAuthorization> stillPending(AcmeAccount& account,
                                            const std::vector<HeldAuthorization>& held,
                                            const LogFields& fields) {
    std::vector<HeldAuthorization> pending;
    for (const auto& authorization : held) {
        try {
            const acme::Authorization current = account.call(
                [&] { return account.client().getAuthorization(authorization.url); });
            if (current.status == acme::AuthorizationStatus::Pending)
                pending.push_back(authorization);
        } catch (const std::exception& e) {
            LogFields failed = fields;
            failed.push_back({"detail", errorDetail(e)});
            logEvent(LogLevel::Warn, "authorization not read; not deactivated", failed);
            // A CA that did not answer one will not answer the next within the client's wait.
            const auto* caError = dynamic_cast<const acme::AcmeError*>(&e);
            if (caError != nullptr && caError->unreachable()) break;
        }
    }
    return pending;
}

void giveBackAuthorizations(Database& database, AcmeAccount& account, const std::string& domainId,
                            const std::string& domainName,
                            const std::vector<HeldAuthorization>& held, const LogFields& fields) {
    std::vector<std::string> urls;
    try {
        urls = database.withSession([&](Poco::Data::Session& session) {
            return authorizationsToGiveBack(session, domainId, domainName, held);
        });
    } catch (const std::exception& e) {
        // Not knowing who else needs them, none is deactivated: a pending one expires at the
        // CA, a shared one deactivated would fail another domain's order.
        LogFields failed = fields;
        failed.push_back({"detail", errorDetail(e)});
        logEvent(LogLevel::Warn, "authorizations not deactivated", failed);
        return;
    }
    if (urls.size() < held.size()) {
        LogFields kept = fields;
        kept.push_back({"kept", static_cast<Poco::Int64>(held.size() - urls.size())});
        logEvent(LogLevel::Info, "authorizations kept for other domains", kept);
    }
    account.deactivateAuthorizations(urls, fields);
}

}  // namespace dnsh
