#include "issuance/ari_refresh_view.hpp"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

namespace dnsh {

namespace {

std::string rfc3339(Poco::Int64 epochMs) {
    return Poco::DateTimeFormatter::format(Poco::Timestamp(epochMs * 1000), "%Y-%m-%dT%H:%M:%SZ");
}

constexpr const char* kBeforeCaWindow =
    "2% of the certificate's lifetime before its last tenth: the CA's window ends after it";

std::string explain(const AriRefreshed& refreshed) {
    switch (refreshed.outcome) {
        case AriRefreshOutcome::DueNow:
            return std::string("renewal due now (") +
                   (refreshed.beforeCaWindow ? kBeforeCaWindow : "the CA's window has opened") +
                   "); starts within a second";
        case AriRefreshOutcome::Scheduled:
            return "renews at " + rfc3339(refreshed.renewAtEpochMs.value_or(0)) + " (" +
                   (refreshed.beforeCaWindow ? kBeforeCaWindow : "in the CA's window") + ")";
        case AriRefreshOutcome::RenewalRunning:
            return "a renewal is already running";
        case AriRefreshOutcome::NotUsable:
            return "the CA's answer is not usable, renew_at kept: " + refreshed.detail;
        case AriRefreshOutcome::NotOffered:
            return "the CA offers no renewalInfo (ACME_DIRECTORY has no ARI)";
        case AriRefreshOutcome::NotRecorded:
            return "the CA's answer was not stored, renew_at kept: " + refreshed.detail;
    }
    return "";
}

}  // namespace

std::string ariRefreshedLine(const AriRefreshed& refreshed) {
    return refreshed.current.domainName + " (" + refreshed.current.domainId +
           "): " + explain(refreshed);
}

Poco::JSON::Object ariRefreshedJson(const AriRefreshed& refreshed) {
    Poco::JSON::Object item(Poco::JSON_PRESERVE_KEY_ORDER);
    item.set("domain_id", refreshed.current.domainId);
    item.set("domain_name", refreshed.current.domainName);
    item.set("certificate_id", refreshed.current.certificate.certificateId);
    item.set("outcome", std::string(toString(refreshed.outcome)));
    item.set("renew_at", refreshed.renewAtEpochMs
                             ? Poco::Dynamic::Var(rfc3339(*refreshed.renewAtEpochMs))
                             : Poco::Dynamic::Var());
    if (!refreshed.detail.empty()) item.set("detail", refreshed.detail);
    if (refreshed.beforeCaWindow) item.set("detail", std::string(kBeforeCaWindow));
    return item;
}

}  // namespace dnsh
