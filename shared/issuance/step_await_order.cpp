#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>

#include <algorithm>
#include <string>
#include <vector>

#include "acme/certificate_chain.hpp"
#include "crypto/certificate.hpp"
#include "crypto/random.hpp"
#include "domain/domain_name.hpp"
#include "issuance/order_steps.hpp"
#include "issuance/renewal_info.hpp"
#include "issuance/renewal_time.hpp"

namespace dnsh {

namespace {

using std::chrono::milliseconds;

// Milliseconds since the epoch of an RFC 3339 UTC time.
Poco::Int64 epochMs(const std::string& rfc3339) {
    int timeZoneDifferential = 0;
    return Poco::DateTimeParser::parse(Poco::DateTimeFormat::ISO8601_FORMAT, rfc3339,
                                       timeZoneDifferential)
               .timestamp()
               .epochMicroseconds() /
           1000;
}

// The certificate row to store: when to renew it (RENEW_BEFORE, or the CA's suggested window,
// RFC 9773 §4.2, which wins when it has one, up to 2% before the certificate's last tenth:
// askRenewalInfo) and when to ask the CA about it again.
NewCertificate certificateToStore(StepContext& context, const IssuedCertificate& issued) {
    // The key is the order row's, copied by storeCertificate in its transaction.
    NewCertificate certificate{randomHex(16), issued.leafPem, issued.chainPem, issued.notBefore,
                               issued.notAfter, 0, std::nullopt};
    certificate.renewBeforeMs =
        renewBeforeExpiry(context.config().renewBefore,
                          std::chrono::duration_cast<milliseconds>(issued.lifetime), randomUnit())
            .count();
    if (const auto advice = askRenewalInfo(context.client(), issued.leafPem,
                                             context.config().ariMaxWait)) {
        certificate.ariNextFetchMs = advice->nextFetchMs;
        if (advice->renewAtEpochMs) {
            certificate.renewBeforeMs =
                std::max<Poco::Int64>(0, epochMs(issued.notAfter) - *advice->renewAtEpochMs);
        }
    }
    return certificate;
}

}  // namespace

StepResult awaitOrderStep(StepContext& context) {
    const StoredOrder& order = context.order();
    const acme::Order current = context.ca([&] { return context.client().getOrder(order.orderUrl); });
    const bool hasCertificate =
        current.status == acme::OrderStatus::Valid && !current.certificate.empty();
    // Past its expiry (after a restart, a long Retry-After) an order not issued never will be: a
    // fresh one (RFC 8555 §7.1.6: an expired order turns invalid). Read first, so that one the
    // CA issued in time is downloaded; one it failed giving a reason (the order's error,
    // §7.1.3) fails with that reason as before.
    const bool failedByCa =
        current.status == acme::OrderStatus::Invalid && !current.error.empty();
    if (order.expired && !hasCertificate && !failedByCa) return expiredOrder(order);
    if (current.status == acme::OrderStatus::Processing)
        return waitForCa(context, current.retryAfter, StepLabel::AwaitOrder, "issue");
    if (!hasCertificate)
        return failOrder(FailureCode::CaInvalid,
                         "the CA did not issue: order " +
                             std::string(acme::toString(current.status)) +
                             (current.error.empty() ? "" : ": " + current.error));
    // A download that is no chain is the CA's error (retried, then failed ca_refused); one for
    // another key or other names fails the order now: acme/certificate_chain.hpp.
    EVP_PKEY* key = context.certificateKey().get();
    const std::vector<std::string> names = certificateNames(order.domainName);
    IssuedCertificate issued;
    try {
        issued = context.ca([&] {
            return context.client().downloadCertificate(current.certificate, key, names);
        });
    } catch (const acme::CertificateNotForOrder& e) {
        return failOrder(FailureCode::CaRefused, e.what());
    }
    const NewCertificate certificate = certificateToStore(context, issued);
    context.storeCertificate(certificate);
    return step::Done{{{"certificate_id", certificate.id},
                       {"expires_at", issued.notAfter},
                       {"renew_before_ms", certificate.renewBeforeMs}}};
}

}  // namespace dnsh
