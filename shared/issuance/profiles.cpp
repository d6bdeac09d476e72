#include "issuance/profiles.hpp"

#include <cctype>

#include "config/profile_name.hpp"
#include "core/error.hpp"
#include "domain/domain_name.hpp"
#include "domain/registration.hpp"
#include "issuance/acme_account.hpp"
#include "issuance/backoff.hpp"

namespace dnsh {

OrderProfile orderProfile(const std::optional<std::string>& domainProfile, const Config& config) {
    if (domainProfile && !domainProfile->empty()) return OrderProfile{*domainProfile, false};
    return OrderProfile{config.acmeProfile, !config.acmeProfile.empty()};
}

OrderProfile orderProfile(const std::optional<std::string>& domainProfile, const CaSettings& ca) {
    if (domainProfile && !domainProfile->empty()) return OrderProfile{*domainProfile, false};
    std::string setting = "ACME_PROFILE";
    if (ca.name != "default") {
        setting = "ACME_CA_";
        for (char c : ca.name) setting += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        setting += "_PROFILE";
    }
    return OrderProfile{ca.profile, !ca.profile.empty(), setting};
}

std::string offeredProfiles(const acme::Directory& directory) {
    // Each name is a validProfileName, at most 64 bytes (acme::Client keeps no other).
    std::string names;
    std::size_t listed = 0;
    for (const auto& [name, description] : directory.profiles) {
        if (listed == kMaxListedProfiles) break;
        names += (names.empty() ? "" : ", ") + name;
        ++listed;
    }
    if (names.empty()) return "none";
    if (directory.profiles.size() > listed)
        names += " and " + std::to_string(directory.profiles.size() - listed) + " more";
    return names;
}

void requireOffered(const acme::Directory& directory, const OrderProfile& profile) {
    if (profile.name.empty() || directory.profiles.count(profile.name) == 1) return;
    const std::string what = profile.fromSetting
                                 ? profile.setting + "=\"" + profile.name + "\""
                                 : "the domain's profile \"" + profile.name + "\"";
    throw acme::AcmeError(acme::Problem{acme::ProblemType::kInvalidProfile,
                                        what + " is not a profile the CA offers (it offers: " +
                                            offeredProfiles(directory) + ")",
                                        400});
}

void requireOfferedNow(acme::Client& client, const OrderProfile& profile) {
    if (profile.name.empty() || client.directory().profiles.count(profile.name) == 1) return;
    requireOffered(client.refreshDirectory(kProfileRereadFloor), profile);
}

namespace {

// POST /domains' 502 when a CA's directory could not be read: `unread` names each such CA and why
// (`e`, the first of those that may answer later, else the last, gives error_code), `offered`
// what the CAs that answered offer. A later call may read it: Retry-After as
// issue-certificate's 502 for a CA that did not answer.
Error directoryUnread(const acme::AcmeError& e, const std::string& profile,
                      const std::string& unread, const std::string& offered) {
    std::string message =
        (e.unreachable() ? "ACME CA unreachable: " : "ACME CA refused: ") + unread;
    if (!offered.empty())
        message += "; profile \"" + profile + "\" is not offered by the CAs that answered: " +
                   offered;
    Error error(ErrorCode::BadGateway, message, std::string(toString(failureCodeOf(e))));
    error.retryAfter(clampRetryAfter(e.retryAfter().value_or(kCaUnreachableRetryAfter),
                                     RetryAfterKind::Poll));
    return error;
}

}  // namespace

void requireProfileOffered(const Config& config, const std::string& profile) {
    // Checked before the CA is asked: nothing odd reaches it, the database or a log line.
    if (!validProfileName(profile))
        throw Error(ErrorCode::BadRequest, std::string("field profile: ") + kProfileNameRule);
    // With several CAs (README "Several CAs") one that offers it is enough: an order goes past a
    // CA that does not (invalidProfile) to the next.
    std::string offered;  // "a, b" (per CA with several: "URL: a, b; URL: ...")
    std::string unread;   // per CA whose directory could not be read: why
    // The 502's error (error_code, Retry-After): the first that may answer later, else the last.
    std::optional<acme::AcmeError> unanswered;
    bool mayAnswerLater = false;  // some unread directory may answer later (unreachable, 5xx)
    const std::vector<CaSettings> cas = configuredCas(config);
    for (const CaSettings& ca : cas) {
        const std::string named = cas.size() > 1 ? ca.directoryUrl + ": " : std::string();
        acme::Transport transport(ca.caBundle, config.acmeHandlerTimeout);
        acme::Client client(transport, ca.directoryUrl);
        try {
            const acme::Directory& directory = client.directory();
            if (directory.profiles.count(profile) == 1) return;
            offered += (offered.empty() ? "" : "; ") + named + offeredProfiles(directory);
        } catch (const acme::AcmeError& e) {
            unread += (unread.empty() ? "" : "; ") + named + e.problem().detail;
            // A CA unreachable before one answering 404: the 502 is ca_unreachable, the error
            // a retry may clear, not the lasting refusal.
            if (!mayAnswerLater) unanswered = e;
            mayAnswerLater = mayAnswerLater || e.unreachable() || e.problem().status >= 500;
        }
    }
    // A CA whose directory could not be read for now (unreachable, 5xx) may offer it: not the
    // client's mistake (400) before that directory is read, but the CA's failure, 502 as with
    // one CA (README "Certificate profiles"), the domain not registered. So with no directory
    // read at all. A directory that answered a lasting refusal (a 404 of a wrong URL) will not
    // offer it on a retry: 400 then, naming it, rather than a 502 retried for ever.
    if (unanswered && (mayAnswerLater || offered.empty()))
        throw directoryUnread(*unanswered, profile, unread, offered);
    const bool none = cas.size() == 1 && offered == "none";
    std::string message =
        none ? "profile \"" + profile + "\": the CA offers no profiles"
             : "profile \"" + profile + "\" is not offered by the CA; it offers: " + offered;
    if (unanswered) message += "; directory not read: " + unread;
    throw Error(ErrorCode::BadRequest, message,
                std::string(toString(FailureCode::InvalidProfile)));
}

Domain registerDomainWithProfile(Database& database, const Config& config,
                                 std::string_view requestedName,
                                 const std::optional<std::string>& profile,
                                 const std::optional<std::string>& idempotencyKey) {
    normalizeDomainName(requestedName);
    if (profile) requireProfileOffered(config, *profile);
    return registerDomain(database, requestedName, profile, idempotencyKey);
}

}  // namespace dnsh
