// Which challenge of an authorization AcmeAccount answers (RFC 8555 §7.5, RFC 8657 §4,
// draft-ietf-acme-dns-persist-00), and the dns-persist-01 issuer it records for the account;
// the account, its orders and their errors are acme_account.cpp's.
#include <optional>
#include <string>
#include <vector>

#include "core/shown_text.hpp"
#include "dns/persist_record.hpp"
#include "issuance/acme_account.hpp"

namespace dnsh {

namespace {

// RFC 8555 §7.5: the client picks one of the offered challenges. Types this service does not
// speak (http-01, dns-account-01, ...) are passed over.
const acme::Challenge* findChallenge(const acme::Authorization& authorization,
                                     ChallengeMethod method) {
    for (const auto& challenge : authorization.challenges)
        if (challenge.type == toString(method)) return &challenge;
    return nullptr;
}

// The authorization's dns-persist-01 challenge when the customer's record lets the CA use it
// (draft §4.1.2); a challenge without issuer-domain-names cannot be used (§3.1).
const acme::Challenge* usablePersistChallenge(const acme::Authorization& authorization,
                                              const std::string& name,
                                              const std::string& accountUrl,
                                              const PersistRecordUsable& persistUsable) {
    if (!persistUsable) return nullptr;
    const acme::Challenge* challenge = findChallenge(authorization, ChallengeMethod::DnsPersist01);
    if (challenge == nullptr || challenge->issuerDomainNames.empty()) return nullptr;
    return persistUsable(name, challenge->issuerDomainNames, accountUrl) ? challenge : nullptr;
}

// Why `authorization` offers no dns-persist-01 challenge our customer's record answers, and
// what the customer can change.
std::string whyNoPersistChallenge(const acme::Authorization& authorization,
                                  const std::string& name) {
    const std::string addDns01 = "add dns-01 to the validationmethods of that CAA record";
    const acme::Challenge* offered = findChallenge(authorization, ChallengeMethod::DnsPersist01);
    if (offered == nullptr) return "offers no dns-persist-01 challenge: " + addDns01;
    if (offered->issuerDomainNames.empty())
        return "offers dns-persist-01 without issuer-domain-names (draft-ietf-acme-dns-persist-00 "
               "section 3.1): " +
               addDns01;
    // The CA's text: made printable and cut, as a domain name is shown.
    std::string issuers;
    for (const auto& issuer : offered->issuerDomainNames) {
        if (!issuers.empty()) issuers += ", ";
        issuers += shownText(issuer, 128);
    }
    return "names the issuer-domain-names " + issuers + ", with which the record at " +
           persistRecordName(name) + " is not usable for our account: publish it naming one " +
           "of them, or " + addDns01;
}

}  // namespace

const acme::Challenge& chooseChallenge(const acme::Authorization& authorization,
                                       const std::string& name, const std::string& accountUrl,
                                       const PersistRecordUsable& persistUsable,
                                       const CaaCheck& caa) {
    const acme::Challenge* persist =
        usablePersistChallenge(authorization, name, accountUrl, persistUsable);
    // RFC 8657 §4: a CA that enforces validationmethods invalidates an authorization answered
    // with a method the name's CAA does not list, so only a method CAA allows is chosen.
    if (persist != nullptr && caa.allowsMethod(name, toString(ChallengeMethod::DnsPersist01)))
        return *persist;
    // The precheck found dns-persist-01 usable for it with the CA's caaIdentities, and the
    // authorization disagrees. Every order at this CA would meet the same until the customer's
    // CAA or record changes: caa_forbidden, not retried (CaaMethodRefusal).
    if (!caa.allowsMethod(name, toString(ChallengeMethod::Dns01)))
        throw CaaMethodRefusal(acme::Problem{
            "",
            "CAA lets the CA validate " + name +
                " with dns-persist-01 only (RFC 8657 section 4), and its authorization " +
                whyNoPersistChallenge(authorization, name),
            400});
    const acme::Challenge* challenge = findChallenge(authorization, ChallengeMethod::Dns01);
    if (challenge == nullptr)
        throw acme::AcmeError(acme::Problem{"", "the CA offers no dns-01 challenge", 502});
    return *challenge;
}

bool AcmeAccount::recordPersistIssuer() {
    const std::vector<std::string> identities = client_.directory().caaIdentities;
    if (identities.empty()) return false;
    // RFC 8555 §7.3.1: the stored URL, which the records name as accounturi, confirmed as the
    // one the CA knows, the account registered again where the CA forgot it (a sandbox CA
    // restarted). One registered just now needs no confirming.
    if (!ensure()) confirmAccount();
    // The directory's first identity is what a CA names in its challenges in practice, not by
    // rule (draft-ietf-acme-dns-persist-00 §4 item 2: the record names one of the challenge's
    // issuer-domain-names): an issuer a challenge named is kept, not undone at every start
    // (README "Which record": "corrected by the first challenge seen").
    storedIssuer_ = database_.withSession([&](Poco::Data::Session& session) {
        return OrderStore(session).setDirectoryPersistIssuer(id_, identities.front());
    });
    return true;
}

void AcmeAccount::notePersistOffer(const acme::Authorization& authorization) {
    const acme::Challenge* persist = findChallenge(authorization, ChallengeMethod::DnsPersist01);
    // §3.1: a challenge without issuer-domain-names cannot be answered, so it is no offer.
    const bool offered = persist != nullptr && !persist->issuerDomainNames.empty();
    // A CA may offer a wildcard's authorization fewer methods than a name's (Let's Encrypt
    // offers it no http-01 or tls-alpn-01), and no directory field lists a CA's methods (RFC
    // 8555 §7.1.1, draft-ietf-acme-dns-persist-00): only an authorization for a name says the CA
    // stopped offering dns-persist-01. Else one wildcard order would take every domain's record
    // off the views and keep the CAA precheck from the method until another authorization
    // offered it, which no order might then come to show.
    if (!offered && authorization.wildcard) return;
    std::string issuer = offered ? persist->issuerDomainNames.front() : storedIssuer_.value_or("");
    if (issuer.empty()) {
        // One copy: each directory() call may read the directory again and change the list.
        const std::vector<std::string> identities = client_.directory().caaIdentities;
        if (!identities.empty()) issuer = identities.front();
    }
    if (issuer.empty()) return;
    storePersistIssuer(issuer, offered);
}

void AcmeAccount::storePersistIssuer(const std::string& issuer, std::optional<bool> offered) {
    if (storedIssuer_ == issuer && (!offered || storedOffered_ == offered)) return;
    database_.withSession([&](Poco::Data::Session& session) {
        OrderStore(session).setPersistIssuer(id_, issuer, offered);
        return true;
    });
    storedIssuer_ = issuer;
    if (offered) storedOffered_ = offered;
}

CaaIssuer AcmeAccount::caaIssuer() {
    std::vector<std::string> identities = client_.directory().caaIdentities;
    if (identities.empty()) return {};
    const std::string accountUrl = call([&] { return client_.accountUrl(); });
    return {std::move(identities), accountUrl};
}

}  // namespace dnsh
