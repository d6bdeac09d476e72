#pragma once
// The dns-persist-01 validation record (draft-ietf-acme-dns-persist-00 §4): the value a customer
// publishes once at _validation-persist.<name>, and whether the TXT values there let the CA
// validate an order of our account, judged as the draft has the CA judge them and as Let's
// Encrypt's Boulder (va/dns_persist.go) does: the issuer compared normalised (§4, §3.1),
// parameters parsed strictly, unknown tags ignored (§4 item 1). Pebble v2.10.3 is stricter: it
// compares the issuer byte for byte and refuses any tag given twice, unknown ones too.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/enum_names.hpp"

namespace dnsh {

// §4: the label prepended to the name being validated ("Authorization Domain Name", §2).
inline constexpr std::string_view kPersistLabel = "_validation-persist";

// Where the record of `name` is: "_validation-persist.<name>"; a wildcard's ("*.x") is at its
// base name's (§5, Pebble strips "*." from the authorization's identifier).
std::string persistRecordName(const std::string& name);

// What the TXT values at the record's name mean for an order of our account, the best record
// winning (a record for another CA is ignored, §4.1.2):
// Usable: one record names one of the CA's issuer domain names (normalised: "LetsEncrypt.org."
//   names letsencrypt.org) and our account, and allows the order (policy=wildcard for a
//   wildcard, persistUntil not passed).
// Missing: no record names one of the CA's issuer domain names.
// WrongAccount: a record for the CA names another accounturi (§4 item 3).
// NeedsWildcardPolicy: a wildcard order, and our account's record lacks policy=wildcard (§5).
// Expired: our account's record has a persistUntil that has passed (§4 item 5).
// Malformed: a record for the CA that it rejects as malformed (§9.2.1): a parameter that is not
//   tag=value, a known tag (accounturi, policy, persistUntil, any case) given twice, a bad value
//   byte in any parameter, a persistUntil that is not an integer, no accounturi. An unknown tag
//   is ignored, given twice or not (§4 item 1).
// A malformed record is reported before an authorization failure, as the CA reports it (Pebble).
enum class PersistOutcome {
    Usable,
    Missing,
    WrongAccount,
    NeedsWildcardPolicy,
    Expired,
    Malformed
};

inline constexpr EnumNames<PersistOutcome, 6> kPersistOutcomeNames{{{
    {PersistOutcome::Usable, "usable"},
    {PersistOutcome::Missing, "missing"},
    {PersistOutcome::WrongAccount, "wrong_account"},
    {PersistOutcome::NeedsWildcardPolicy, "needs_wildcard_policy"},
    {PersistOutcome::Expired, "expired"},
    {PersistOutcome::Malformed, "malformed"},
}}};

constexpr std::string_view toString(PersistOutcome outcome) {
    return kPersistOutcomeNames.toString(outcome);
}

// The most a verdict's detail holds: it quotes the customer's record (escaped, each piece cut),
// and is stored and shown like a TXT check's values (dns/txt_check.hpp).
inline constexpr std::size_t kMaxPersistDetailBytes = 400;
inline constexpr std::size_t kMaxPersistQuotedBytes = 100;  // one quoted piece of a record

struct PersistVerdict {
    PersistOutcome outcome = PersistOutcome::Missing;
    std::string
        detail;  // what was wrong (or which record is usable): at most kMaxPersistDetailBytes
    // Usable: the record's persistUntil (UNIX seconds, §2) when it has one: after it the CA
    // refuses new validations with it.
    std::optional<std::int64_t> persistUntil;
    bool usable() const { return outcome == PersistOutcome::Usable; }
};

// §3.1's form of an issuer domain name, as §4 has the CA compare them: lowercase, A-labels
// (UTS #46, NFC), no trailing dot (§9.1.1's steps). Nullopt for what cannot be one: empty, a NUL
// byte, refused by IDNA, over 253 octets after normalisation, or over 1024 bytes before.
std::optional<std::string> normalizeIssuerDomainName(std::string_view name);

// The record to publish (§4, its examples' spelling): "<issuer>; accounturi=<uri>" and
// "; policy=wildcard" for a wildcard. `issuerDomain`: one of the challenge's
// issuer-domain-names, shown normalised (as it is, if it cannot be).
std::string formatPersistRecord(const std::string& issuerDomain, const std::string& accountUri,
                                bool wildcard);

// Judges every TXT value (each one record's strings joined) against the CA's issuer domain names
// (both sides normalised) and our account URL (byte for byte, as the CA compares) at `now`.
PersistVerdict evaluatePersistRecords(const std::vector<std::string>& txtValues,
                                      const std::vector<std::string>& issuerDomains,
                                      const std::string& accountUri, bool wildcard,
                                      std::chrono::system_clock::time_point now);

// Whether any of `txtValues` holds the text "persistUntil" (any case, as tags compare, RFC 8659
// §4.2): only then can evaluatePersistRecords's verdict depend on `now`, so a caller whose clock
// costs a round trip asks it only then.
bool mayNamePersistUntil(const std::vector<std::string>& txtValues);

}  // namespace dnsh
