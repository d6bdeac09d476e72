#include "dns/dns_update.hpp"

#include <memory>
#include <stdexcept>

// Last: ldns headers define macros that break later C++ standard headers.
#include <ldns/ldns.h>

namespace dnsh {

namespace {

struct LdnsDeleter {
    void operator()(ldns_resolver* resolver) const { ldns_resolver_deep_free(resolver); }
    void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
    void operator()(ldns_rr_list* list) const { ldns_rr_list_deep_free(list); }
};

std::string withDot(const std::string& name) {
    return !name.empty() && name.back() == '.' ? name : name + ".";
}

std::string serverText(const DnsServer& server) {
    return (server.host.find(':') != std::string::npos ? "[" + server.host + "]" : server.host) +
           ":" + std::to_string(server.port);
}

}  // namespace

DnsUpdater::DnsUpdater(std::string zone, DnsServer primary, TsigKey key,
                       std::chrono::milliseconds timeout)
    : zone_(std::move(zone)),
      primary_(std::move(primary)),
      key_(std::move(key)),
      timeout_(timeout) {}

std::optional<DnsUpdater> DnsUpdater::fromConfig(const Config& config) {
    if (config.delegationZone.empty() || !config.dnsUpdateTsig) return std::nullopt;
    const auto servers = parseResolverList(config.dnsUpdateServer);
    return DnsUpdater(config.delegationZone, servers.front(), *config.dnsUpdateTsig,
                      config.dnsTimeout);
}

UpdateResult DnsUpdater::addTxt(const std::string& name, const std::string& value) const {
    return send(name, value, true);
}

UpdateResult DnsUpdater::deleteTxt(const std::string& name, const std::string& value) const {
    return send(name, value, false);
}

UpdateResult DnsUpdater::send(const std::string& name, const std::string& value, bool add) const {
    const std::string where = serverText(primary_);
    // dns-01 values are base64url (RFC 8555 §8.4): no quotes or escapes to worry about.
    if (value.find_first_of("\"\\ ") != std::string::npos)
        throw std::invalid_argument("TXT value with quotes, spaces or backslashes");
    ldns_rr* raw = nullptr;
    const std::string text = withDot(name) + " 60 IN TXT \"" + value + "\"";
    if (ldns_rr_new_frm_str(&raw, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK)
        throw std::invalid_argument("cannot encode TXT record at " + name);
    if (!add) {
        ldns_rr_set_class(raw, LDNS_RR_CLASS_NONE);  // RFC 2136 §2.5.4
        ldns_rr_set_ttl(raw, 0);
    }
    std::unique_ptr<ldns_rr_list, LdnsDeleter> updates(ldns_rr_list_new());
    ldns_rr_list_push_rr(updates.get(), raw);

    std::unique_ptr<ldns_resolver, LdnsDeleter> resolver(ldns_resolver_new());
    const bool v6 = primary_.host.find(':') != std::string::npos;
    ldns_rdf* address =
        ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, primary_.host.c_str());
    if (address == nullptr) throw std::invalid_argument("bad server address " + primary_.host);
    ldns_resolver_push_nameserver(resolver.get(), address);
    ldns_rdf_deep_free(address);
    ldns_resolver_set_port(resolver.get(), primary_.port);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
    ldns_resolver_set_timeout(resolver.get(), tv);
    ldns_resolver_set_retry(resolver.get(), 1);
    // RFC 8945: the key's name and algorithm as the server knows them; ldns signs the request
    // and checks the signature of the answer.
    const std::string keyName = withDot(key_.name), algorithm = withDot(key_.algorithm);
    ldns_resolver_set_tsig_keyname(resolver.get(), keyName.c_str());
    ldns_resolver_set_tsig_algorithm(resolver.get(), algorithm.c_str());
    ldns_resolver_set_tsig_keydata(resolver.get(), key_.secret.c_str());

    // The packet owns the zone name (ldns update.h).
    ldns_rdf* zoneName = ldns_dname_new_frm_str(withDot(zone_).c_str());
    std::unique_ptr<ldns_pkt, LdnsDeleter> request(
        ldns_update_pkt_new(zoneName, LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
    if (!request) {
        ldns_rdf_deep_free(zoneName);
        throw std::runtime_error("cannot build the update for " + name);
    }
    if (ldns_update_pkt_tsig_add(request.get(), resolver.get()) != LDNS_STATUS_OK)
        throw std::runtime_error("cannot sign the update for " + name + " with TSIG");
    ldns_pkt* rawAnswer = nullptr;
    const ldns_status status = ldns_resolver_send_pkt(&rawAnswer, resolver.get(), request.get());
    std::unique_ptr<ldns_pkt, LdnsDeleter> answer(rawAnswer);
    const std::string what = std::string(add ? "adding" : "deleting") + " TXT at " + name;
    if (status == LDNS_STATUS_CRYPTO_TSIG_BOGUS || status == LDNS_STATUS_CRYPTO_TSIG_ERR)
        return {"dns_update_refused", where + " answered with a bad TSIG signature " + what};
    if (status != LDNS_STATUS_OK || !answer)
        return {"dns_timeout", "no answer from " + where + " " + what + " (" +
                                   ldns_get_errorstr_by_id(status) + ")"};
    const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(answer.get());
    if (rcode == LDNS_RCODE_NOERROR) return {};
    char* rcodeText = ldns_pkt_rcode2str(rcode);
    const std::string detail =
        where + " answered " + (rcodeText ? rcodeText : "an error") + " " + what;
    free(rcodeText);
    if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH)
        return {"dns_update_refused", detail};
    return {"dns_servfail", detail};
}

}  // namespace dnsh
