#include "events/webhook_signature.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

#include <sstream>

namespace dnsh {

namespace {

// Poco's HMACEngine wants a digest engine with a default constructor and the block size.
class Sha256 : public Poco::SHA2Engine {
public:
    enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
    Sha256() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

}  // namespace

std::string webhookSignature(const std::string& key, const std::string& id, long long timestamp,
                             const std::string& body) {
    Poco::HMACEngine<Sha256> hmac(key);
    const std::string signedContent = id + "." + std::to_string(timestamp) + "." + body;
    hmac.update(signedContent);
    const auto& digest = hmac.digest();
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(reinterpret_cast<const char*>(digest.data()),
                  static_cast<std::streamsize>(digest.size()));
    encoder.close();
    return "v1," + out.str();
}

}  // namespace dnsh
