#include "config/webhook_config.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "config/config.hpp"
#include "config/duration.hpp"

namespace dnsh {

namespace {

constexpr std::string_view kSecretPrefix = "whsec_";

std::chrono::milliseconds duration(
    const std::function<std::optional<std::string>(const std::string&)>& lookup,
    const std::string& name, std::chrono::milliseconds fallback) {
    const auto value = lookup(name);
    if (!value || value->empty()) return fallback;
    try {
        return parseDuration(*value);
    } catch (const std::invalid_argument& e) {
        throw ConfigError("invalid " + name + "=\"" + *value + "\": " + e.what());
    }
}

// RFC 7617 §2: neither part may hold a control character.
bool holdsControlCharacter(const std::string& text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
}

// `encoded` percent-decoded. Poco's text for a bad escape quotes it: never passed on.
std::string percentDecoded(const std::string& encoded) {
    std::string decoded;
    try {
        Poco::URI::decode(encoded, decoded);
    } catch (const Poco::Exception&) {
        throw std::invalid_argument("its user info holds a '%' not followed by two hex digits");
    }
    return decoded;
}

}  // namespace

std::optional<WebhookUserInfo> webhookUserInfo(const std::string& url) {
    std::string userInfo;
    try {
        // Still percent-encoded: Poco 1.11 decodes the path, not the user info.
        userInfo = Poco::URI(url).getUserInfo();
    } catch (const Poco::Exception&) {
        throw std::invalid_argument("it does not parse as a URL");
    }
    if (userInfo.empty()) return std::nullopt;
    // RFC 3986 §3.2.1: an '@' in the user info is written %40. Poco would keep only what follows
    // the last but one '@' (https://u:p@ss@host/ -> "ss") and send the wrong credentials.
    const std::size_t start = url.find("//") + 2;
    const std::string authority = url.substr(start, url.find_first_of("/?#", start) - start);
    if (std::count(authority.begin(), authority.end(), '@') > 1)
        throw std::invalid_argument("an '@' in its user info must be written %40");
    // Split at the first ':' before decoding, as curl does: a %3A is part of the password.
    const std::size_t colon = userInfo.find(':');
    WebhookUserInfo result{percentDecoded(userInfo.substr(0, colon)),
                           colon == std::string::npos ? ""
                                                      : percentDecoded(userInfo.substr(colon + 1))};
    // RFC 7617 §2: "a user-id containing a colon character is invalid".
    if (result.user.find(':') != std::string::npos)
        throw std::invalid_argument("the user name in its user info holds a ':' (%3A)");
    if (holdsControlCharacter(result.user) || holdsControlCharacter(result.password))
        throw std::invalid_argument("its user info holds a control character");
    return result;
}

void requireWebhookSigningSecret(const WebhookSettings& settings) {
    if (settings.enabled() && settings.secret.empty())
        throw ConfigError(
            "WEBHOOK_URL is set but WEBHOOK_SECRET is not: whsec_<base64> signs "
            "every event");
}

std::string decodeWebhookSecret(const std::string& secret) {
    if (secret.rfind(kSecretPrefix, 0) != 0)
        throw std::invalid_argument("expected whsec_ followed by base64");
    const std::string encoded = secret.substr(kSecretPrefix.size());
    // Poco's decoder skips characters it does not know; a typo must not pass silently.
    const bool wellFormed =
        !encoded.empty() && encoded.size() % 4 == 0 &&
        encoded.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
            std::string::npos &&
        encoded.find('=') >= encoded.size() - 2;
    if (!wellFormed) throw std::invalid_argument("the part after whsec_ is not base64");
    std::istringstream in(encoded);
    Poco::Base64Decoder decoder(in);
    std::string key((std::istreambuf_iterator<char>(decoder)), std::istreambuf_iterator<char>());
    // Standard Webhooks: secrets are 24 to 64 bytes of random data.
    if (key.size() < 24 || key.size() > 64)
        throw std::invalid_argument("the key must be 24 to 64 bytes (it is " +
                                    std::to_string(key.size()) + ")");
    return key;
}

WebhookSettings loadWebhookSettings(
    const std::function<std::optional<std::string>(const std::string&)>& lookup) {
    WebhookSettings settings;
    if (const auto value = lookup("WEBHOOK_URL"); value && !value->empty()) {
        // The URL may carry a credential in its path (Slack-style hooks) or query: a message
        // never shows it, nor Poco's text, which quotes it.
        const std::string notShown = " (the value is not shown: it may hold a credential)";
        try {
            const Poco::URI uri(*value);
            if ((uri.getScheme() != "http" && uri.getScheme() != "https") || uri.getHost().empty())
                throw ConfigError("invalid WEBHOOK_URL: expected an http:// or https:// URL with a "
                                  "host" + notShown);
        } catch (const Poco::Exception&) {
            throw ConfigError("invalid WEBHOOK_URL: it does not parse as a URL" + notShown);
        }
        // Its user info is sent as Basic credentials: read it now, so that no attempt fails on it.
        try {
            webhookUserInfo(*value);
        } catch (const std::invalid_argument& e) {
            throw ConfigError("invalid WEBHOOK_URL: " + std::string(e.what()) + notShown);
        }
        settings.url = *value;
    }
    if (const auto value = lookup("WEBHOOK_SECRET"); value && !value->empty()) {
        try {
            decodeWebhookSecret(*value);
        } catch (const std::invalid_argument& e) {
            // A secret: the message names the variable and the problem only.
            throw ConfigError("invalid WEBHOOK_SECRET: " + std::string(e.what()));
        }
        settings.secret = *value;
    }
    settings.retryWindow = duration(lookup, "WEBHOOK_RETRY_WINDOW", settings.retryWindow);
    settings.initialBackoff = duration(lookup, "WEBHOOK_BACKOFF", settings.initialBackoff);
    settings.timeout = duration(lookup, "WEBHOOK_TIMEOUT", settings.timeout);
    settings.retention = duration(lookup, "WEBHOOK_RETENTION", settings.retention);
    if (const auto value = lookup("WEBHOOK_WORKERS"); value && !value->empty()) {
        int workers = 0;
        const char* last = value->data() + value->size();
        if (auto [end, ec] = std::from_chars(value->data(), last, workers);
            ec != std::errc() || end != last || workers < 1 || workers > 64)
            throw ConfigError("invalid WEBHOOK_WORKERS=\"" + *value + "\": expected 1..64");
        settings.workers = workers;
    }
    return settings;
}

}  // namespace dnsh
