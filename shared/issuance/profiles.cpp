#include "issuance/profiles.hpp"

#include "config/profile_name.hpp"
#include "core/error.hpp"
#include "domain/domain_name.hpp"
#include "domain/domain_service.hpp"
#include "issuance/acme_account.hpp"

namespace dnsh {

OrderProfile orderProfile(const std::optional<std::string>& domainProfile, const Config& config) {
    if (domainProfile && !domainProfile->empty()) return OrderProfile{*domainProfile, false};
    return OrderProfile{config.acmeProfile, !config.acmeProfile.empty()};
}

std::string offeredProfiles(const acme::Directory& directory) {
    std::string names;
    for (const auto& [name, description] : directory.profiles)
        names += (names.empty() ? "" : ", ") + name;
    return names.empty() ? "none" : names;
}

void requireOffered(const acme::Directory& directory, const OrderProfile& profile) {
    if (profile.name.empty() || directory.profiles.count(profile.name) == 1) return;
    const std::string what = profile.fromSetting
                                 ? "ACME_PROFILE=\"" + profile.name + "\""
                                 : "the domain's profile \"" + profile.name + "\"";
    throw acme::AcmeError(acme::Problem{acme::ProblemType::kInvalidProfile,
                                        what + " is not a profile the CA offers (it offers: " +
                                            offeredProfiles(directory) + ")",
                                        400});
}

void requireProfileOffered(const Config& config, const std::string& profile) {
    // Checked before the CA is asked: nothing odd reaches it, the database or a log line.
    if (!validProfileName(profile))
        throw Error(ErrorCode::BadRequest, std::string("field profile: ") + kProfileNameRule);
    acme::Transport transport(config.acmeCaBundle, config.acmeHandlerTimeout);
    acme::Client client(transport, config.acmeDirectory);
    try {
        const acme::Directory& directory = client.directory();
        if (directory.profiles.count(profile) == 1) return;
        throw Error(ErrorCode::BadRequest,
                    directory.profiles.empty()
                        ? "profile \"" + profile + "\": the CA offers no profiles"
                        : "profile \"" + profile + "\" is not offered by the CA; it offers: " +
                              offeredProfiles(directory),
                    std::string(toString(FailureCode::InvalidProfile)));
    } catch (const acme::AcmeError& e) {
        throw Error(ErrorCode::BadGateway,
                    (e.unreachable() ? "ACME CA unreachable: " : "ACME CA refused: ") +
                        e.problem().detail,
                    std::string(toString(failureCodeOf(e))));
    }
}

Domain registerDomainWithProfile(Database& database, const Config& config,
                                 std::string_view requestedName,
                                 const std::optional<std::string>& profile) {
    normalizeDomainName(requestedName);
    if (profile) requireProfileOffered(config, *profile);
    return registerDomain(database, requestedName, profile);
}

}  // namespace dnsh
