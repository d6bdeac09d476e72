#include "config/ca_settings.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>

#include "config/config.hpp"
#include "config/profile_name.hpp"
#include "crypto/keys.hpp"

namespace dnsh {

namespace {

using Lookup = std::function<std::optional<std::string>(const std::string&)>;

constexpr std::size_t kMaxCas = 8;
constexpr std::size_t kMaxNameLength = 32;

std::string valueOf(const Lookup& lookup, const std::string& name) {
    const auto value = lookup(name);
    return value ? *value : "";
}

bool validCaName(const std::string& name) {
    return !name.empty() && name.size() <= kMaxNameLength &&
           std::all_of(name.begin(), name.end(), [](unsigned char c) {
               return std::islower(c) || std::isdigit(c) || c == '_';
           });
}

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

// RFC 8555 §6.1: ACME runs over HTTPS only.
void requireDirectoryUrl(const std::string& variable, const std::string& url) {
    if (url.empty()) throw ConfigError(variable + " is not set: the CA's ACME directory URL");
    try {
        const Poco::URI uri(url);
        if (uri.getScheme() == "https" && !uri.getHost().empty()) return;
    } catch (const Poco::Exception&) {
    }
    throw ConfigError("invalid " + variable + "=\"" + url +
                      "\": expected an https:// URL of an ACME directory");
}

// Both or neither; the key is base64url (RFC 8555 §7.3.4 leaves the encoding to the CA, and
// every CA that offers EAB gives it so). The value is never part of a message.
std::optional<ExternalAccountKey> externalAccountKey(const Lookup& lookup,
                                                     const std::string& prefix) {
    const std::string kidVariable = prefix + "EAB_KID";
    const std::string keyVariable = prefix + "EAB_HMAC_KEY";
    const std::string kid = valueOf(lookup, kidVariable);
    std::string key = valueOf(lookup, keyVariable);
    if (kid.empty() && key.empty()) return std::nullopt;
    if (kid.empty())
        throw ConfigError(keyVariable + " is set but " + kidVariable +
                          " is not: External Account Binding needs the key id the CA gave too");
    if (key.empty())
        throw ConfigError(kidVariable + " is set but " + keyVariable +
                          " is not: External Account Binding needs the HMAC key the CA gave too");
    while (!key.empty() && key.back() == '=') key.pop_back();  // padded base64url is fine
    std::string decoded;
    try {
        decoded = base64UrlDecode(key);
    } catch (const std::invalid_argument&) {
        throw ConfigError("invalid " + keyVariable + ": not base64url (the value is not shown)");
    }
    if (decoded.size() < 16)
        throw ConfigError("invalid " + keyVariable +
                          ": shorter than 16 bytes once decoded (the value is not shown)");
    return ExternalAccountKey{kid, decoded};
}

CaSettings readCa(const Lookup& lookup, const std::string& name, const std::string& prefix,
                  const std::string& directoryVariable, const std::string& bundleVariable,
                  const std::string& profileVariable, const std::string& budgetVariable,
                  const std::string& fallbackDirectory) {
    CaSettings ca;
    ca.name = name;
    ca.directoryUrl = valueOf(lookup, directoryVariable);
    if (ca.directoryUrl.empty()) ca.directoryUrl = fallbackDirectory;
    requireDirectoryUrl(directoryVariable, ca.directoryUrl);
    ca.caBundle = valueOf(lookup, bundleVariable);
    ca.profile = valueOf(lookup, profileVariable);
    // Whether the CA offers it is known only once its directory is read (at the first order).
    if (!ca.profile.empty() && !validProfileName(ca.profile))
        throw ConfigError("invalid " + profileVariable + "=\"" + ca.profile +
                          "\": " + kProfileNameRule);
    if (const std::string budget = valueOf(lookup, budgetVariable); !budget.empty()) {
        try {
            ca.orderBudget = parseOrderBudget(budget);
        } catch (const std::invalid_argument& e) {
            throw ConfigError("invalid " + budgetVariable + "=\"" + budget + "\": " + e.what() +
                              " (expected <orders>/<duration>, e.g. 300/3h)");
        }
    }
    ca.externalAccount = externalAccountKey(lookup, prefix);
    return ca;
}

// ACME_CAS_FILE: NAME=value lines ('#' starts a comment line; a value may be quoted). Handlers
// behind lighttpd see only the variables lighttpd.conf lists, so the per-CA names, which the
// operator chooses, come from this one file; it holds EAB keys, so it is the service's alone
// (0640 root:dnsh in the package).
std::map<std::string, std::string> readCaFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError("ACME_CAS_FILE=\"" + path + "\" cannot be read");
    std::map<std::string, std::string> values;
    std::string line;
    int number = 0;
    auto trim = [](std::string text) {
        const auto first = text.find_first_not_of(" \t\r");
        if (first == std::string::npos) return std::string();
        return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
    };
    while (std::getline(in, line)) {
        ++number;
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
        const auto equals = line.find('=');
        const std::string name = equals == std::string::npos ? "" : trim(line.substr(0, equals));
        if (name.empty() || name.rfind("ACME_", 0) != 0)
            throw ConfigError("ACME_CAS_FILE=\"" + path + "\" line " + std::to_string(number) +
                              ": expected ACME_...=value");
        std::string value = trim(line.substr(equals + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        values[name] = value;
    }
    return values;
}

}  // namespace

std::vector<CaSettings> loadCaSettings(const Lookup& environment) {
    if (!valueOf(environment, "ACME_CAS").empty())
        throw ConfigError(
            "ACME_CAS is set in the environment: write it and the ACME_CA_<NAME>_* settings into "
            "a file and set ACME_CAS_FILE to it (README \"Several CAs\")");
    const std::string file = valueOf(environment, "ACME_CAS_FILE");
    std::map<std::string, std::string> fromFile;
    if (!file.empty()) {
        if (!valueOf(environment, "ACME_DIRECTORY").empty())
            throw ConfigError(
                "ACME_CAS_FILE and ACME_DIRECTORY are both set: with ACME_CAS_FILE, each CA's "
                "directory is its ACME_CA_<NAME>_DIRECTORY; unset ACME_DIRECTORY");
        fromFile = readCaFile(file);
    }
    const Lookup lookup = file.empty() ? environment : Lookup([&](const std::string& name) {
        const auto found = fromFile.find(name);
        return found == fromFile.end() ? std::nullopt : std::optional<std::string>(found->second);
    });
    const std::string list = valueOf(lookup, "ACME_CAS");
    if (!file.empty() && list.empty())
        throw ConfigError("ACME_CAS_FILE=\"" + file + "\" sets no ACME_CAS (the CAs, in order)");
    if (list.empty()) {
        // The one-CA form, as before ACME_CAS existed.
        return {readCa(lookup, "default", "ACME_", "ACME_DIRECTORY", "ACME_CA_BUNDLE",
                       "ACME_PROFILE", "ACME_ORDER_BUDGET",
                       "https://acme-staging-v02.api.letsencrypt.org/directory")};
    }
    std::vector<CaSettings> cas;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find_first_of(", ", start);
        if (end == std::string::npos) end = list.size();
        const std::string name = list.substr(start, end - start);
        start = end + 1;
        if (name.empty()) continue;
        if (!validCaName(name))
            throw ConfigError("invalid ACME_CAS=\"" + list + "\": \"" + name +
                              "\" is not a CA name (1 to 32 of a-z, 0-9, _)");
        if (std::any_of(cas.begin(), cas.end(), [&](const CaSettings& c) { return c.name == name; }))
            throw ConfigError("invalid ACME_CAS=\"" + list + "\": \"" + name + "\" is listed twice");
        const std::string prefix = "ACME_CA_" + upper(name) + "_";
        cas.push_back(readCa(lookup, name, prefix, prefix + "DIRECTORY", prefix + "CA_BUNDLE",
                             prefix + "PROFILE", prefix + "ORDER_BUDGET", ""));
    }
    if (cas.empty()) throw ConfigError("invalid ACME_CAS=\"" + list + "\": it names no CA");
    if (cas.size() > kMaxCas)
        throw ConfigError("invalid ACME_CAS: at most " + std::to_string(kMaxCas) + " CAs");
    // One account per directory URL: two entries for one CA would share it.
    for (std::size_t i = 0; i < cas.size(); ++i)
        for (std::size_t j = i + 1; j < cas.size(); ++j)
            if (cas[i].directoryUrl == cas[j].directoryUrl)
                throw ConfigError("ACME_CA_" + upper(cas[i].name) + "_DIRECTORY and ACME_CA_" +
                                  upper(cas[j].name) + "_DIRECTORY name the same CA (" +
                                  cas[i].directoryUrl + ")");
    return cas;
}

std::string describeCas(const std::vector<CaSettings>& cas) {
    std::string text;
    for (const auto& ca : cas)
        text += (text.empty() ? "" : " ") + ca.directoryUrl + (ca.externalAccount ? " (EAB)" : "") +
                (ca.orderBudget ? " (budget " + formatOrderBudget(*ca.orderBudget) + ")" : "");
    return text;
}

}  // namespace dnsh
