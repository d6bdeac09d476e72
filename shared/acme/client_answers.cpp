#include "acme/client_answers.hpp"

#include <sstream>

#include "acme/ca_strings.hpp"
#include "core/shown_text.hpp"

namespace dnsh::acme::client_answers {

std::string text(const Poco::JSON::Object::Ptr& object, const std::string& name) {
    return object->optValue<std::string>(name, "");
}

// The CA answered what RFC 8555 does not allow: its error, as an answer that is no ACME
// directory or an order without authorizations is (502: the CA's fault, another CA may be
// tried), and never acted on. `value`, the CA's, is named cut as a problem's text is
// (problem.hpp): the detail becomes the domain's error.
AcmeError protocolError(const std::string& what, const std::string& value) {
    return AcmeError(Problem{
        "",
        "the CA's answer " + what +
            (value.empty() ? "" : ": " + shownText(value, kMaxProblemInstanceBytes)),
        502});
}

// RFC 8555 §6.1: every URL the CA names is https; each is requested, and stored or named in
// errors, so one past kMaxCaUrlBytes is refused, not cut (a cut URL names another resource).
void requireCaUrl(const std::string& url, const std::string& what) {
    if (!isHttpsUrl(url, kMaxCaUrlBytes))
        throw protocolError("has " + what + " that is no https URL of at most " +
                                std::to_string(kMaxCaUrlBytes) + " bytes",
                            url);
}

// The URL member `name` of `object`, "" when absent; refused as requireCaUrl says.
std::string caUrl(const Poco::JSON::Object::Ptr& object, const std::string& name) {
    std::string url = text(object, name);
    if (!url.empty()) requireCaUrl(url, "a \"" + name + "\"");
    return url;
}

std::string stringify(const Poco::JSON::Object& object) {
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

}  // namespace dnsh::acme::client_answers
