#include "dns/caa_policy.hpp"

#include <algorithm>

#include "core/shown_text.hpp"
#include "dns/txt_check.hpp"

namespace dnsh {

namespace {

// RFC 8659 §4.2: issuer-domain-name is a domain name, so RFC 1035 §2.3.4's limits hold: labels
// of at most 63 octets, the name at most 253 characters as text (255 octets on the wire).
constexpr std::size_t kMaxIssuerLabelBytes = 63;
constexpr std::size_t kMaxIssuerNameBytes = 253;

bool isAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char lowerAscii(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return lowerAscii(x) == lowerAscii(y);
           });
}

// Reads RFC 8659 §4.2's productions from the start of a value.
class IssueValueReader {
public:
    explicit IssueValueReader(std::string_view text) : text_(text) {}

    bool atEnd() const { return at_ == text_.size(); }
    void skipWsp() {
        while (!atEnd() && (text_[at_] == ' ' || text_[at_] == '\t')) ++at_;
    }
    bool take(char c) {
        if (atEnd() || text_[at_] != c) return false;
        ++at_;
        return true;
    }
    bool startsLabel() const { return !atEnd() && isAlnum(text_[at_]); }
    // label / tag = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)): hyphens only inside.
    std::optional<std::string> label() {
        if (!startsLabel()) return std::nullopt;
        const std::size_t start = at_;
        while (!atEnd() && (isAlnum(text_[at_]) || text_[at_] == '-')) ++at_;
        if (text_[at_ - 1] == '-') return std::nullopt;
        return std::string(text_.substr(start, at_ - start));
    }
    // value = *(%x21-3A / %x3C-7E): printable ASCII but the space and ";".
    std::string value() {
        const std::size_t start = at_;
        while (!atEnd() && text_[at_] >= 0x21 && text_[at_] <= 0x7e && text_[at_] != ';') ++at_;
        return std::string(text_.substr(start, at_ - start));
    }

private:
    std::string_view text_;
    std::size_t at_ = 0;
};

bool isTag(const CaaRecord& record, std::string_view tag) {
    return equalsIgnoringCase(record.tag, tag);
}

// RFC 8659 §4.5: the tags whose meaning we know; a critical record with any other tag forbids.
bool knownTag(const CaaRecord& record) {
    return isTag(record, "issue") || isTag(record, "issuewild") || isTag(record, "iodef");
}

// The values of parameter `key` (names compared without regard to case).
std::vector<std::string> parameterValues(const CaaIssueValue& value, std::string_view key) {
    std::vector<std::string> values;
    for (const auto& [name, text] : value.parameters)
        if (equalsIgnoringCase(name, key)) values.push_back(text);
    return values;
}

bool contains(const CaaMethods& methods, std::string_view method) {
    return std::find(methods.begin(), methods.end(), method) != methods.end();
}

std::string joined(const CaaMethods& methods) {
    std::string text;
    for (const auto& method : methods) text += (text.empty() ? "" : ", ") + method;
    return text;
}

// RFC 8657 §4: validationmethods is a comma-separated list of method labels.
CaaMethods listedMethods(std::string_view list) {
    CaaMethods methods;
    while (true) {
        const std::size_t comma = list.find(',');
        methods.emplace_back(list.substr(0, comma));
        if (comma == std::string_view::npos) return methods;
        list.remove_prefix(comma + 1);
    }
}

// `record` with `method` added to its validationmethods, its other parameters as they were.
CaaRecord withMethodAdded(const CaaRecord& record, const CaaIssueValue& value,
                          const std::string& method) {
    std::string text = value.issuerDomainName;
    for (const auto& [name, parameter] : value.parameters) {
        text += "; " + name + "=" + parameter;
        if (equalsIgnoringCase(name, "validationmethods"))
            text += (parameter.empty() ? "" : ",") + method;
    }
    return CaaRecord{record.owner, record.flags, record.tag, text};
}

// What one issue/issuewild record says to `issuer` validating with one of `ours`.
struct RecordAnswer {
    CaaMethods allowed;   // of ours, those it lets the CA use (empty: it authorizes nothing)
    std::string problem;  // when it allows none: why
    std::optional<CaaRecord> withOurMethod;  // when only its validationmethods stood in the way
};

RecordAnswer judgeRecord(const CaaRecord& record, const CaaIssuer& issuer,
                         const CaaMethods& ours) {
    RecordAnswer answer;
    const auto value = parseCaaIssueValue(record.value);
    if (!value) return {{}, "its value does not follow RFC 8659 section 4.2", {}};
    if (value->issuerDomainName.empty()) return {{}, "it names no CA (no CA may issue)", {}};
    const bool named = std::any_of(issuer.identities.begin(), issuer.identities.end(),
                                   [&](const std::string& identity) {
                                       return DnsName(identity) == DnsName(value->issuerDomainName);
                                   });
    // The customer's text, shown as every other piece of their records is: cut and escaped.
    if (!named)
        return {{},
                "it names another CA, " + shownText(value->issuerDomainName, kMaxShownValueBytes),
                {}};
    // RFC 8657 §3: accounturi binds the record to one ACME account. A parameter given twice is
    // not taken to mean either value: the record authorizes nothing.
    const auto accounts = parameterValues(*value, "accounturi");
    if (accounts.size() > 1) return {{}, "it has more than one accounturi parameter", {}};
    if (accounts.size() == 1 && accounts.front() != issuer.accountUri)
        return {{}, "its accounturi is not our ACME account (" + issuer.accountUri + ")", {}};
    // RFC 8657 §4: validationmethods lists the methods the CA may use; without it, any.
    const auto methods = parameterValues(*value, "validationmethods");
    if (methods.size() > 1) return {{}, "it has more than one validationmethods parameter", {}};
    if (methods.empty()) return {ours, "", {}};
    const CaaMethods listed = listedMethods(methods.front());
    for (const auto& method : ours)
        if (contains(listed, method)) answer.allowed.push_back(method);
    if (!answer.allowed.empty()) return answer;
    answer.problem = "its validationmethods (" + shownText(methods.front(), kMaxShownValueBytes) +
                     ") lists none of the methods this service can use for the name (" +
                     joined(ours) + ")";
    if (!ours.empty()) answer.withOurMethod = withMethodAdded(record, *value, ours.front());
    return answer;
}

}  // namespace

std::optional<CaaIssueValue> parseCaaIssueValue(std::string_view value) {
    IssueValueReader reader(value);
    CaaIssueValue parsed;
    reader.skipWsp();
    // issuer-domain-name = label *("." label), within a domain name's limits (RFC 1035).
    if (reader.startsLabel()) {
        auto label = reader.label();
        if (!label || label->size() > kMaxIssuerLabelBytes) return std::nullopt;
        parsed.issuerDomainName = *label;
        while (reader.take('.')) {
            label = reader.label();
            if (!label || label->size() > kMaxIssuerLabelBytes) return std::nullopt;
            parsed.issuerDomainName += "." + *label;
            if (parsed.issuerDomainName.size() > kMaxIssuerNameBytes) return std::nullopt;
        }
        reader.skipWsp();
    }
    if (reader.atEnd()) return parsed;
    if (!reader.take(';')) return std::nullopt;
    reader.skipWsp();
    if (reader.atEnd()) return parsed;
    // parameters = (parameter *WSP ";" *WSP parameters) / parameter
    while (true) {
        const auto tag = reader.label();
        if (!tag) return std::nullopt;
        reader.skipWsp();
        if (!reader.take('=')) return std::nullopt;
        reader.skipWsp();
        parsed.parameters.emplace_back(*tag, reader.value());
        reader.skipWsp();
        if (reader.atEnd()) return parsed;
        if (!reader.take(';')) return std::nullopt;
        reader.skipWsp();
    }
}

CaaDecision evaluateCaa(const std::vector<CaaRecord>& records, bool wildcard,
                        const CaaIssuer& issuer, const CaaMethods& ours) {
    CaaDecision decision;
    // RFC 8659 §4.5: a critical property we do not understand forbids issuance outright.
    for (const auto& record : records)
        if (record.critical() && !knownTag(record))
            return {CaaVerdict::Forbidden,
                    "the record " + caaPresentation(record, 100) +
                        " has the critical flag on a property tag this service does not know "
                        "(RFC 8659 section 4.5)",
                    false, true, {}, std::nullopt};
    // RFC 8659 §4.3: for a wildcard, issuewild properties (when any) replace issue; for any
    // other name issuewild is ignored.
    decision.issuewild =
        wildcard && std::any_of(records.begin(), records.end(),
                                [](const CaaRecord& record) { return isTag(record, "issuewild"); });
    const std::string_view governing = decision.issuewild ? "issuewild" : "issue";
    std::vector<const CaaRecord*> properties;
    for (const auto& record : records)
        if (isTag(record, governing)) properties.push_back(&record);
    // RFC 8659 §4.2: without an issue property the set restricts no CA.
    if (properties.empty()) {
        decision.reason = records.empty()
                              ? "no CAA record: any CA may issue"
                              : "no " + std::string(governing) + " property: any CA may issue";
        decision.allowedMethods = ours;
        return decision;
    }
    // RFC 8659 §4.2: one record authorizing the CA is enough, so each method allowed by any of
    // them may be used.
    std::string why;
    const CaaRecord* firstAllowing = nullptr;
    CaaMethods allowedByAny;
    for (const CaaRecord* record : properties) {
        RecordAnswer answer = judgeRecord(*record, issuer, ours);
        if (!answer.allowed.empty()) {
            if (firstAllowing == nullptr) firstAllowing = record;
            allowedByAny.insert(allowedByAny.end(), answer.allowed.begin(), answer.allowed.end());
            continue;
        }
        if (!decision.recordWithOurMethod) decision.recordWithOurMethod = answer.withOurMethod;
        if (why.empty() || answer.problem.rfind("it names another CA", 0) != 0)
            why = caaPresentation(*record, 100) + ": " + answer.problem;
    }
    if (firstAllowing != nullptr) {
        for (const auto& method : ours)
            if (contains(allowedByAny, method)) decision.allowedMethods.push_back(method);
        decision.recordWithOurMethod.reset();
        decision.reason = "allowed by " + caaPresentation(*firstAllowing, 100);
        if (decision.allowedMethods.size() < ours.size())
            decision.reason += "; validationmethods lets the CA use only " +
                               joined(decision.allowedMethods) + " (RFC 8657 section 4)";
        return decision;
    }
    decision.verdict = CaaVerdict::Forbidden;
    decision.reason = "no " + std::string(governing) + " record allows this CA (" + why + ")";
    return decision;
}

}  // namespace dnsh
