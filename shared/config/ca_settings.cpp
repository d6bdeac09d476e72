#include "config/ca_settings.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <string_view>

#include "config/config.hpp"
#include "config/profile_name.hpp"
#include "crypto/keys.hpp"

namespace dnsh {

namespace {

using Lookup = std::function<std::optional<std::string>(const std::string&)>;

constexpr std::size_t kMaxCas = 8;
constexpr std::size_t kMaxNameLength = 32;

// The settings of one CA, by their variables' suffix: ACME_<SUFFIX> in the one-CA form,
// ACME_CA_<NAME>_<SUFFIX> in ACME_CAS_FILE. readCa reads each through this one list, so it is
// also what the file may hold besides ACME_CAS and which one-CA variables the file replaces.
enum CaSetting : std::size_t { kDirectory, kCaBundle, kProfile, kOrderBudget, kEabKid, kEabHmac };
constexpr std::string_view kCaSettings[] = {"DIRECTORY",    "CA_BUNDLE", "PROFILE",
                                            "ORDER_BUDGET", "EAB_KID",   "EAB_HMAC_KEY"};
static_assert(std::size(kCaSettings) == kEabHmac + 1, "a suffix for each CaSetting");

constexpr std::string_view kOneCaPrefix = "ACME_";

// "ACME_ORDER_BUDGET" for prefix "ACME_", "ACME_CA_LE_ORDER_BUDGET" for "ACME_CA_LE_".
std::string settingVariable(std::string_view prefix, CaSetting setting) {
    return std::string(prefix) + std::string(kCaSettings[setting]);
}

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
    const std::string kidVariable = settingVariable(prefix, kEabKid);
    const std::string keyVariable = settingVariable(prefix, kEabHmac);
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
                  const std::string& fallbackDirectory) {
    const std::string directoryVariable = settingVariable(prefix, kDirectory);
    const std::string profileVariable = settingVariable(prefix, kProfile);
    const std::string budgetVariable = settingVariable(prefix, kOrderBudget);
    CaSettings ca;
    ca.name = name;
    ca.directoryUrl = valueOf(lookup, directoryVariable);
    if (ca.directoryUrl.empty()) ca.directoryUrl = fallbackDirectory;
    requireDirectoryUrl(directoryVariable, ca.directoryUrl);
    ca.caBundle = valueOf(lookup, settingVariable(prefix, kCaBundle));
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
struct FileValue {
    std::string value;
    int line = 0;  // where it was set (the last line, as a shell would read the file)
};
using CaFile = std::map<std::string, FileValue>;

CaFile readCaFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError("ACME_CAS_FILE=\"" + path + "\" cannot be read");
    CaFile values;
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
        values[name] = FileValue{value, number};
    }
    return values;
}

// ACME_CAS's names, most preferred first.
std::vector<std::string> caNames(const std::string& list) {
    std::vector<std::string> names;
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
        if (std::find(names.begin(), names.end(), name) != names.end())
            throw ConfigError("invalid ACME_CAS=\"" + list + "\": \"" + name +
                              "\" is listed twice");
        names.push_back(name);
    }
    if (names.empty()) throw ConfigError("invalid ACME_CAS=\"" + list + "\": it names no CA");
    if (names.size() > kMaxCas)
        throw ConfigError("invalid ACME_CAS: at most " + std::to_string(kMaxCas) + " CAs");
    return names;
}

// Every key of the file is ACME_CAS or a setting of a listed CA: nothing readCa would not read
// (ACME_CA_LE_ORDER_BUDGT, a CA not listed, a one-CA variable) is silently left out. The
// message names the key, never its value (it may be an EAB key).
void requireKnownKeys(const std::string& path, const CaFile& values,
                      const std::vector<std::string>& names) {
    std::vector<std::string> known{"ACME_CAS"};
    for (const auto& name : names)
        for (std::size_t s = 0; s < std::size(kCaSettings); ++s)
            known.push_back(settingVariable("ACME_CA_" + upper(name) + "_", CaSetting(s)));
    for (const auto& [key, value] : values) {
        if (std::find(known.begin(), known.end(), key) != known.end()) continue;
        std::string listed, settings;
        for (const auto& name : names) listed += (listed.empty() ? "" : ", ") + upper(name);
        for (const auto suffix : kCaSettings)
            settings += (settings.empty() ? "" : ", ") + std::string(suffix);
        throw ConfigError("ACME_CAS_FILE=\"" + path + "\" line " + std::to_string(value.line) +
                          ": " + key + " is not a setting of a CA it lists and would be ignored; "
                          "allowed are ACME_CAS and ACME_CA_<NAME>_<SETTING>, NAME one of " +
                          listed + " (from ACME_CAS), SETTING one of " + settings);
    }
}

// The one-CA variables that ACME_CAS_FILE replaces (each CA's are in the file), set in the
// environment too: ignored, so refused. ACME_CA_BUNDLE and ACME_PROFILE are let through here and
// checked against the CAs by requireKeptByFile (deploy/up and the tests export them next to it).
void refuseReplacedVariables(const Lookup& environment, const std::string& path) {
    for (std::size_t s = 0; s < std::size(kCaSettings); ++s) {
        const CaSetting setting = CaSetting(s);
        const std::string name = settingVariable(kOneCaPrefix, setting);
        if (setting == kCaBundle || setting == kProfile || valueOf(environment, name).empty())
            continue;
        if (setting == kDirectory)
            throw ConfigError(
                "ACME_CAS_FILE and ACME_DIRECTORY are both set: with ACME_CAS_FILE, each CA's "
                "directory is its ACME_CA_<NAME>_DIRECTORY; unset ACME_DIRECTORY");
        throw ConfigError(name + " is set next to ACME_CAS_FILE=\"" + path +
                          "\" and would be ignored: with a CA file each CA's is its " +
                          settingVariable("ACME_CA_<NAME>_", setting) +
                          " in the file; put it there for the CA it is for and unset " + name);
    }
}

// ACME_PROFILE next to the file: every order names it, so every CA must; ACME_CA_BUNDLE: the
// CA it was for must use it. Otherwise it would be ignored, so refused; the same values are not.
void requireKeptByFile(const Lookup& environment, const std::string& path,
                       const std::vector<CaSettings>& cas) {
    const std::string profileName = settingVariable(kOneCaPrefix, kProfile);
    if (const std::string profile = valueOf(environment, profileName); !profile.empty())
        for (const auto& ca : cas)
            if (ca.profile != profile)
                throw ConfigError(
                    profileName + "=\"" + profile + "\" is set next to ACME_CAS_FILE=\"" + path +
                    "\" but " + settingVariable("ACME_CA_" + upper(ca.name) + "_", kProfile) +
                    (ca.profile.empty() ? " is not set" : " is \"" + ca.profile + "\"") +
                    ": with a CA file each CA's profile is its ACME_CA_<NAME>_PROFILE; set it "
                    "there for each CA that should name it and unset " + profileName);
    const std::string bundleName = settingVariable(kOneCaPrefix, kCaBundle);
    const std::string bundle = valueOf(environment, bundleName);
    const auto usesIt = [&](const CaSettings& ca) { return ca.caBundle == bundle; };
    if (bundle.empty() || std::any_of(cas.begin(), cas.end(), usesIt)) return;
    throw ConfigError(bundleName + "=\"" + bundle + "\" is set next to ACME_CAS_FILE=\"" + path +
                      "\" but no CA there uses it: with a CA file each CA's bundle is its "
                      "ACME_CA_<NAME>_CA_BUNDLE; set it there for the CA it is for or unset " +
                      bundleName);
}

}  // namespace

std::vector<CaSettings> loadCaSettings(const Lookup& environment) {
    if (!valueOf(environment, "ACME_CAS").empty())
        throw ConfigError(
            "ACME_CAS is set in the environment: write it and the ACME_CA_<NAME>_* settings into "
            "a file and set ACME_CAS_FILE to it (README \"Several CAs\")");
    const std::string file = valueOf(environment, "ACME_CAS_FILE");
    if (file.empty())  // the one-CA form, as before ACME_CAS existed
        return {readCa(environment, "default", std::string(kOneCaPrefix),
                       "https://acme-staging-v02.api.letsencrypt.org/directory")};
    refuseReplacedVariables(environment, file);
    const CaFile fromFile = readCaFile(file);
    const auto list = fromFile.find("ACME_CAS");
    if (list == fromFile.end() || list->second.value.empty())
        throw ConfigError("ACME_CAS_FILE=\"" + file + "\" sets no ACME_CAS (the CAs, in order)");
    const std::vector<std::string> names = caNames(list->second.value);
    requireKnownKeys(file, fromFile, names);
    const Lookup lookup = [&](const std::string& name) {
        const auto found = fromFile.find(name);
        return found == fromFile.end() ? std::nullopt : std::optional(found->second.value);
    };
    std::vector<CaSettings> cas;
    for (const auto& name : names)
        cas.push_back(readCa(lookup, name, "ACME_CA_" + upper(name) + "_", ""));
    // One account per directory URL: two entries for one CA would share it.
    for (std::size_t i = 0; i < cas.size(); ++i)
        for (std::size_t j = i + 1; j < cas.size(); ++j)
            if (cas[i].directoryUrl == cas[j].directoryUrl)
                throw ConfigError("ACME_CA_" + upper(cas[i].name) + "_DIRECTORY and ACME_CA_" +
                                  upper(cas[j].name) + "_DIRECTORY name the same CA (" +
                                  cas[i].directoryUrl + ")");
    requireKeptByFile(environment, file, cas);
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
