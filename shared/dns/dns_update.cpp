#include "dns/dns_update.hpp"

#include <cstdint>

// Last: it ends with the ldns headers, whose macros break later C++ standard headers.
#include "dns/ldns_support.hpp"

namespace dnsh {

namespace {

// TSIG errors (RFC 8945 §4.2 and §5.2; ldns names none of them).
constexpr std::uint16_t kTsigBadSig = 16;
constexpr std::uint16_t kTsigBadKey = 17;
constexpr std::uint16_t kTsigBadTime = 18;

constexpr const char* kCheckKey =
    "check DNS_UPDATE_TSIG (key name, algorithm, secret) against the primary's key";

// The TSIG error of a NOTAUTH answer (its TSIG record's Error field, ldns's rdata 5) as advice,
// "" when there is none to give.
std::string tsigErrorHint(const ldns_pkt* answer) {
    const ldns_rr* tsig = ldns_pkt_tsig(answer);
    if (tsig == nullptr || ldns_rr_rd_count(tsig) < 6) return "";
    switch (ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5))) {
        case kTsigBadTime:  // §5.2.3: signed, so ldns let it through
            return " (TSIG BADTIME): the clocks differ by more than the TSIG fudge (300 s): "
                   "check NTP on this host and on the primary";
        case kTsigBadSig:
        case kTsigBadKey:
            return std::string(" (TSIG BADSIG or BADKEY): ") + kCheckKey;
        default:
            return "";
    }
}

}  // namespace

DnsUpdater::DnsUpdater(DnsName zone, DnsServer primary, TsigKey key,
                       std::chrono::milliseconds timeout)
    : zone_(std::move(zone)),
      primary_(std::move(primary)),
      key_(std::move(key)),
      timeout_(timeout) {}

std::optional<DnsUpdater> DnsUpdater::fromConfig(const Config& config) {
    if (config.delegationZone.empty() || !config.dnsUpdateTsig) return std::nullopt;
    const auto servers = parseResolverList(config.dnsUpdateServer);
    return DnsUpdater(DnsName(config.delegationZone), servers.front(), *config.dnsUpdateTsig,
                      config.dnsTimeout);
}

UpdateResult DnsUpdater::addTxt(const DnsName& name, const std::string& value) const {
    return send(name, value, true);
}

UpdateResult DnsUpdater::deleteTxt(const DnsName& name, const std::string& value) const {
    return send(name, value, false);
}

UpdateResult DnsUpdater::send(const DnsName& name, const std::string& value, bool add) const {
    const std::string where = serverLabel(&primary_);
    // dns-01 values are base64url (RFC 8555 §8.4): no quotes or escapes to worry about.
    if (value.find_first_of("\"\\ ") != std::string::npos)
        throw std::invalid_argument("TXT value with quotes, spaces or backslashes");
    ldns_rr* raw = nullptr;
    const std::string text = name.fqdn() + " 60 IN TXT \"" + value + "\"";
    if (ldns_rr_new_frm_str(&raw, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK)
        throw std::invalid_argument("cannot encode TXT record at " + name.text());
    if (!add) {
        ldns_rr_set_class(raw, LDNS_RR_CLASS_NONE);  // RFC 2136 §2.5.4
        ldns_rr_set_ttl(raw, 0);
    }
    LdnsRrListPtr updates(ldns_rr_list_new());
    ldns_rr_list_push_rr(updates.get(), raw);

    LdnsResolverPtr resolver = makeLdnsResolver(&primary_, timeout_);
    // RFC 8945: the key's name and algorithm (both domain names) as the server knows them; ldns
    // signs the request and checks the signature of the answer.
    const std::string keyName = DnsName(key_.name).fqdn();
    const std::string algorithm = DnsName(key_.algorithm).fqdn();
    ldns_resolver_set_tsig_keyname(resolver.get(), keyName.c_str());
    ldns_resolver_set_tsig_algorithm(resolver.get(), algorithm.c_str());
    ldns_resolver_set_tsig_keydata(resolver.get(), key_.secret.c_str());

    LdnsRdfPtr zoneName = toLdnsName(zone_);
    LdnsPacketPtr request(
        ldns_update_pkt_new(zoneName.get(), LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
    if (!request) throw std::runtime_error("cannot build the update for " + name.text());
    zoneName.release();  // the packet owns the zone name now (ldns update.h)
    if (ldns_update_pkt_tsig_add(request.get(), resolver.get()) != LDNS_STATUS_OK)
        throw std::runtime_error("cannot sign the update for " + name.text() + " with TSIG");
    ldns_pkt* rawAnswer = nullptr;
    const ldns_status status = ldns_resolver_send_pkt(&rawAnswer, resolver.get(), request.get());
    LdnsPacketPtr answer(rawAnswer);
    const std::string what = std::string(add ? "adding" : "deleting") + " TXT at " + name.text();
    // A server that cannot verify our MAC (wrong secret: BADSIG; unknown key name or algorithm:
    // BADKEY) answers NOTAUTH unsigned (RFC 8945 §5.2.2), which ldns then fails to verify and
    // drops: the cause is our key, not the primary's signature. (Clock skew is not: a BADTIME
    // answer is signed, §5.2.3, and ldns checks only its MAC, so it arrives below as NOTAUTH.)
    if (status == LDNS_STATUS_CRYPTO_TSIG_BOGUS || status == LDNS_STATUS_CRYPTO_TSIG_ERR)
        return {FailureCode::DnsUpdateRefused,
                where + " did not accept the TSIG signature " + what +
                    ", or its answer failed TSIG verification: " + kCheckKey};
    if (status != LDNS_STATUS_OK || !answer)
        return {FailureCode::DnsTimeout, "no answer from " + where + " " + what + " (" +
                                   ldns_get_errorstr_by_id(status) + ")"};
    const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(answer.get());
    if (rcode == LDNS_RCODE_NOERROR) return {};
    char* rcodeText = ldns_pkt_rcode2str(rcode);
    const std::string detail =
        where + " answered " + (rcodeText ? rcodeText : "an error") + " " + what;
    free(rcodeText);
    if (rcode == LDNS_RCODE_NOTAUTH)
        return {FailureCode::DnsUpdateRefused, detail + tsigErrorHint(answer.get())};
    if (rcode == LDNS_RCODE_REFUSED) return {FailureCode::DnsUpdateRefused, detail};
    return {FailureCode::DnsServfail, detail};
}

}  // namespace dnsh
