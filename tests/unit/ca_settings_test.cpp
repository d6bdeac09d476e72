// The CA list (config/ca_settings.hpp, README "Several CAs"): the one-CA form, ACME_CAS_FILE,
// and a start refused with a message that names the setting and never quotes a secret.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "config/config.hpp"
#include "environment_lookup.hpp"

using dnsh::ConfigError;
using dnsh::loadConfig;
using dnsh::test::lookupIn;

namespace {

// A CA file in a fresh temporary path, removed with the object.
struct CaFile {
    std::filesystem::path path;
    explicit CaFile(const std::string& content) {
        path = std::filesystem::temp_directory_path() /
               ("dnsh-cas-" + std::to_string(::getpid()) + "-" +
                std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".env");
        std::ofstream(path) << content;
    }
    ~CaFile() { std::filesystem::remove(path); }
};

// The message loadConfig stops with ("" when it does not).
std::string refusal(const std::map<std::string, std::string>& environment) {
    try {
        loadConfig(lookupIn(environment));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

const std::string kKey = "c2VjcmV0LWVhYi1obWFjLWtleS1ieXRlcy0wMTIzNDU2Nzg5";  // 36 bytes

}  // namespace

TEST_CASE("CAs: the one-CA form is ACME_DIRECTORY with its companions, EAB included") {
    const auto config = loadConfig(lookupIn({{"ACME_DIRECTORY", "https://ca.test/dir"},
                                             {"ACME_CA_BUNDLE", "/etc/ca.pem"},
                                             {"ACME_PROFILE", "tlsserver"},
                                             {"ACME_EAB_KID", "kid-1"},
                                             {"ACME_EAB_HMAC_KEY", kKey},
                                             {"ACME_ORDER_BUDGET", "300/3h"}}));
    REQUIRE(config.cas.size() == 1);
    const auto& ca = config.cas.front();
    CHECK(ca.name == "default");
    CHECK(ca.directoryUrl == "https://ca.test/dir");
    CHECK(ca.caBundle == "/etc/ca.pem");
    CHECK(ca.profile == "tlsserver");
    REQUIRE(ca.orderBudget);
    CHECK(ca.orderBudget->orders == 300);
    CHECK(ca.orderBudget->period == std::chrono::hours(3));
    REQUIRE(ca.externalAccount);
    CHECK(ca.externalAccount->keyId == "kid-1");
    CHECK(ca.externalAccount->hmacKey == "secret-eab-hmac-key-bytes-0123456789");
    CHECK(config.acmeDirectory == "https://ca.test/dir");
    CHECK(config.acmeProfile == "tlsserver");
    // Nothing set: Let's Encrypt's staging directory, as before there were several CAs.
    const auto defaults = loadConfig(lookupIn({}));
    REQUIRE(defaults.cas.size() == 1);
    CHECK(defaults.cas.front().directoryUrl ==
          "https://acme-staging-v02.api.letsencrypt.org/directory");
    CHECK_FALSE(defaults.cas.front().externalAccount);
}

TEST_CASE("CAs: ACME_CAS_FILE lists them in order of preference, each with its own settings") {
    const CaFile file("# two CAs\n"
                      "ACME_CAS=le, zerossl\n"
                      "ACME_CA_LE_DIRECTORY=https://acme-v02.api.letsencrypt.org/directory\n"
                      "ACME_CA_LE_ORDER_BUDGET=300/3h\n"
                      "export ACME_CA_ZEROSSL_DIRECTORY=\"https://acme.zerossl.com/v2/DV90\"\n"
                      "ACME_CA_ZEROSSL_EAB_KID='kid-z'\n"
                      "ACME_CA_ZEROSSL_EAB_HMAC_KEY=" + kKey + "\n"
                      "ACME_CA_ZEROSSL_PROFILE=classic\n");
    const auto config = loadConfig(lookupIn({{"ACME_CAS_FILE", file.path.string()}}));
    REQUIRE(config.cas.size() == 2);
    CHECK(config.cas[0].name == "le");
    CHECK(config.cas[0].directoryUrl == "https://acme-v02.api.letsencrypt.org/directory");
    REQUIRE(config.cas[0].orderBudget);
    CHECK(dnsh::formatOrderBudget(*config.cas[0].orderBudget) == "300/3h");
    CHECK_FALSE(config.cas[1].orderBudget);
    CHECK_FALSE(config.cas[0].externalAccount);
    CHECK(config.cas[1].name == "zerossl");
    CHECK(config.cas[1].directoryUrl == "https://acme.zerossl.com/v2/DV90");
    REQUIRE(config.cas[1].externalAccount);
    CHECK(config.cas[1].externalAccount->keyId == "kid-z");
    CHECK(config.cas[1].profile == "classic");
    CHECK(config.acmeDirectory == config.cas[0].directoryUrl);  // the first CA's
    // The start line's description: in order, EAB and budget named, the key never.
    CHECK(dnsh::describeCas(config.cas) ==
          "https://acme-v02.api.letsencrypt.org/directory (budget 300/3h) "
          "https://acme.zerossl.com/v2/DV90 (EAB)");
}

TEST_CASE("CAs: a bad list stops the start naming the setting, never the EAB key") {
    CHECK(refusal({{"ACME_CAS", "le"}}).find("ACME_CAS_FILE") != std::string::npos);
    CHECK(refusal({{"ACME_DIRECTORY", "http://ca.test/dir"}}).find("ACME_DIRECTORY") !=
          std::string::npos);
    CHECK(refusal({{"ACME_EAB_KID", "kid"}}).find("ACME_EAB_HMAC_KEY is not") != std::string::npos);
    CHECK(refusal({{"ACME_EAB_HMAC_KEY", kKey}}).find("ACME_EAB_KID is not") != std::string::npos);
    const std::string badKey =
        refusal({{"ACME_EAB_KID", "kid"}, {"ACME_EAB_HMAC_KEY", "not*base64!key"}});
    CHECK(badKey.find("ACME_EAB_HMAC_KEY") != std::string::npos);
    CHECK(badKey.find("not*base64") == std::string::npos);
    CHECK(refusal({{"ACME_CAS_FILE", "/nonexistent/cas.env"}}).find("cannot be read") !=
          std::string::npos);

    const CaFile both("ACME_CAS=a\nACME_CA_A_DIRECTORY=https://a.test/dir\n");
    CHECK(refusal({{"ACME_CAS_FILE", both.path.string()}, {"ACME_DIRECTORY", "https://b.test/d"}})
              .find("both set") != std::string::npos);
    const CaFile noList("ACME_CA_A_DIRECTORY=https://a.test/dir\n");
    CHECK(refusal({{"ACME_CAS_FILE", noList.path.string()}}).find("sets no ACME_CAS") !=
          std::string::npos);
    const CaFile missing("ACME_CAS=a,b\nACME_CA_A_DIRECTORY=https://a.test/dir\n");
    CHECK(refusal({{"ACME_CAS_FILE", missing.path.string()}})
              .find("ACME_CA_B_DIRECTORY is not set") != std::string::npos);
    const CaFile badName("ACME_CAS=Le\n");
    CHECK(refusal({{"ACME_CAS_FILE", badName.path.string()}}).find("\"Le\" is not a CA name") !=
          std::string::npos);
    const CaFile twice("ACME_CAS=a,a\nACME_CA_A_DIRECTORY=https://a.test/dir\n");
    CHECK(refusal({{"ACME_CAS_FILE", twice.path.string()}}).find("listed twice") !=
          std::string::npos);
    const CaFile sameCa("ACME_CAS=a,b\nACME_CA_A_DIRECTORY=https://a.test/dir\n"
                        "ACME_CA_B_DIRECTORY=https://a.test/dir\n");
    CHECK(refusal({{"ACME_CAS_FILE", sameCa.path.string()}}).find("name the same CA") !=
          std::string::npos);
    const CaFile shortKey("ACME_CAS=a\nACME_CA_A_DIRECTORY=https://a.test/dir\n"
                          "ACME_CA_A_EAB_KID=k\nACME_CA_A_EAB_HMAC_KEY=c2hvcnQ\n");
    const std::string tooShort = refusal({{"ACME_CAS_FILE", shortKey.path.string()}});
    CHECK(tooShort.find("ACME_CA_A_EAB_HMAC_KEY") != std::string::npos);
    CHECK(tooShort.find("c2hvcnQ") == std::string::npos);
    CHECK(refusal({{"ACME_ORDER_BUDGET", "300 per 3h"}}).find("invalid ACME_ORDER_BUDGET") !=
          std::string::npos);
    const CaFile garbage("ACME_CAS=a\nnot a setting\n");
    CHECK(refusal({{"ACME_CAS_FILE", garbage.path.string()}}).find("line 2") != std::string::npos);
}

TEST_CASE("CAs: with ACME_CAS_FILE, a one-CA setting in the environment is refused, not ignored") {
    const CaFile file("ACME_CAS=le,zerossl\n"
                      "ACME_CA_LE_DIRECTORY=https://le.test/dir\n"
                      "ACME_CA_LE_CA_BUNDLE=/etc/le.pem\n"
                      "ACME_CA_LE_PROFILE=tlsserver\n"
                      "ACME_CA_ZEROSSL_DIRECTORY=https://zerossl.test/dir\n"
                      "ACME_CA_ZEROSSL_CA_BUNDLE=/etc/zerossl.pem\n"
                      "ACME_CA_ZEROSSL_PROFILE=tlsserver\n");
    const auto withFile = [&](std::map<std::string, std::string> environment) {
        environment["ACME_CAS_FILE"] = file.path.string();
        return refusal(environment);
    };
    // An operator moving from one CA to the file, ACME_ORDER_BUDGET left behind: no budget at all.
    const std::string budget = withFile({{"ACME_ORDER_BUDGET", "300/3h"}});
    CHECK(budget.find("ACME_ORDER_BUDGET is set next to ACME_CAS_FILE") != std::string::npos);
    CHECK(budget.find("ACME_CA_<NAME>_ORDER_BUDGET") != std::string::npos);
    const std::string eab = withFile({{"ACME_EAB_KID", "kid-1"}, {"ACME_EAB_HMAC_KEY", kKey}});
    CHECK(eab.find("ACME_EAB_KID is set next to ACME_CAS_FILE") != std::string::npos);
    CHECK(eab.find(kKey) == std::string::npos);
    CHECK(withFile({{"ACME_EAB_HMAC_KEY", kKey}}).find("ACME_EAB_HMAC_KEY is set next to") !=
          std::string::npos);
    // ACME_PROFILE: every order names it, so every CA must; ACME_CA_BUNDLE: some CA must use it.
    const std::string profile = withFile({{"ACME_PROFILE", "shortlived"}});
    CHECK(profile.find("ACME_PROFILE=\"shortlived\"") != std::string::npos);
    CHECK(profile.find("ACME_CA_LE_PROFILE is \"tlsserver\"") != std::string::npos);
    const std::string bundle = withFile({{"ACME_CA_BUNDLE", "/etc/private-ca.pem"}});
    CHECK(bundle.find("ACME_CA_BUNDLE=\"/etc/private-ca.pem\"") != std::string::npos);
    CHECK(bundle.find("no CA there uses it") != std::string::npos);
    // What the file says too is no loss (deploy/up's SANDBOX_CAS=2 and the fault tests export
    // both next to the file), nor is an empty variable (unset, as the tests' processes get it).
    CHECK(withFile({{"ACME_PROFILE", "tlsserver"}, {"ACME_CA_BUNDLE", "/etc/le.pem"}}).empty());
    CHECK(withFile({{"ACME_PROFILE", ""}, {"ACME_ORDER_BUDGET", ""}, {"ACME_EAB_KID", ""}})
              .empty());
    // A profile one of the CAs does not name is refused naming that CA's setting.
    const CaFile partly("ACME_CAS=le,zerossl\n"
                        "ACME_CA_LE_DIRECTORY=https://le.test/dir\n"
                        "ACME_CA_LE_PROFILE=tlsserver\n"
                        "ACME_CA_ZEROSSL_DIRECTORY=https://zerossl.test/dir\n");
    CHECK(refusal({{"ACME_CAS_FILE", partly.path.string()}, {"ACME_PROFILE", "tlsserver"}})
              .find("ACME_CA_ZEROSSL_PROFILE is not set") != std::string::npos);
}

TEST_CASE("CAs: a key of ACME_CAS_FILE that no listed CA reads is refused, naming line and key") {
    const auto refusedFor = [](const std::string& content) {
        const CaFile file(content);
        return refusal({{"ACME_CAS_FILE", file.path.string()}});
    };
    const std::string head = "ACME_CAS=le\nACME_CA_LE_DIRECTORY=https://le.test/dir\n";
    // The operator's own name for the CA rather than the one ACME_CAS lists.
    const std::string otherName = refusedFor(head + "ACME_CA_LETSENCRYPT_ORDER_BUDGET=300/3h\n");
    CHECK(otherName.find("line 3: ACME_CA_LETSENCRYPT_ORDER_BUDGET is not a setting") !=
          std::string::npos);
    CHECK(otherName.find("NAME one of LE (from ACME_CAS)") != std::string::npos);
    CHECK(otherName.find("SETTING one of DIRECTORY, CA_BUNDLE, PROFILE, ORDER_BUDGET, EAB_KID, "
                         "EAB_HMAC_KEY") != std::string::npos);
    // A misspelled setting.
    CHECK(refusedFor(head + "ACME_CA_LE_ORDER_BUDGT=300/3h\n")
              .find("line 3: ACME_CA_LE_ORDER_BUDGT is not a setting") != std::string::npos);
    // A one-CA variable in the file, and a misspelled key's value (an EAB key) never shown.
    CHECK(refusedFor(head + "ACME_ORDER_BUDGET=300/3h\n").find("ACME_ORDER_BUDGET is not") !=
          std::string::npos);
    const std::string hidden = refusedFor(head + "ACME_CA_LE_EAB_HMAC=" + kKey + "\n");
    CHECK(hidden.find("ACME_CA_LE_EAB_HMAC is not") != std::string::npos);
    CHECK(hidden.find(kKey) == std::string::npos);
    // Every setting of a listed CA, and comments, still pass.
    const CaFile valid(head + "# Let's Encrypt's 300 new orders per 3 hours\n"
                       "ACME_CA_LE_CA_BUNDLE=/etc/le.pem\n"
                       "ACME_CA_LE_PROFILE=tlsserver\n"
                       "ACME_CA_LE_ORDER_BUDGET=300/3h\n"
                       "ACME_CA_LE_EAB_KID=kid-1\n"
                       "ACME_CA_LE_EAB_HMAC_KEY=" + kKey + "\n");
    const auto config = loadConfig(lookupIn({{"ACME_CAS_FILE", valid.path.string()}}));
    REQUIRE(config.cas.size() == 1);
    CHECK(config.cas[0].caBundle == "/etc/le.pem");
    CHECK(config.cas[0].profile == "tlsserver");
    REQUIRE(config.cas[0].orderBudget);
    CHECK(dnsh::formatOrderBudget(*config.cas[0].orderBudget) == "300/3h");
    REQUIRE(config.cas[0].externalAccount);
    CHECK(config.cas[0].externalAccount->keyId == "kid-1");
}
