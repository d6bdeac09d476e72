#include "crypto/hmac.hpp"

#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

namespace dnsh {

namespace {

// Poco's HMACEngine wants a digest engine with a default constructor and the block size.
class Sha256 : public Poco::SHA2Engine {
public:
    enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
    Sha256() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

}  // namespace

std::vector<unsigned char> hmacSha256(const std::string& key, const std::string& message) {
    Poco::HMACEngine<Sha256> hmac(key);
    hmac.update(message);
    return hmac.digest();
}

}  // namespace dnsh
