#include "events/webhook_signature.hpp"

#include <Poco/Base64Encoder.h>

#include <sstream>

#include "crypto/hmac.hpp"

namespace dnsh {

std::string webhookSignature(const std::string& key, const std::string& id, long long timestamp,
                             const std::string& body) {
    const auto digest = hmacSha256(key, id + "." + std::to_string(timestamp) + "." + body);
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(reinterpret_cast<const char*>(digest.data()),
                  static_cast<std::streamsize>(digest.size()));
    encoder.close();
    return "v1," + out.str();
}

}  // namespace dnsh
