#include "crypto/key_encryption.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "crypto/keys.hpp"

namespace dnsh {

namespace {

constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string fromHex(const std::string& hex) {
    std::string bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

}  // namespace

KeyEncryptor KeyEncryptor::fromFile(const std::string& path) {
    std::ifstream file(path);
    if (!file) throw std::runtime_error("cannot read KEY_ENCRYPTION_KEY_FILE " + path);
    std::string hex;
    file >> hex;
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        throw std::runtime_error("KEY_ENCRYPTION_KEY_FILE " + path +
                                 " must hold 64 hex characters (openssl rand -hex 32)");
    return KeyEncryptor(fromHex(hex));
}

KeyEncryptor::KeyEncryptor(std::string key32) : key_(std::move(key32)) {
    if (key_.size() != 32) throw std::invalid_argument("KEK must be 32 bytes");
    static constexpr char kDigits[] = "0123456789abcdef";
    for (unsigned char byte : sha256(key_)) {
        if (keyId_.size() == 16) break;
        keyId_ += kDigits[byte >> 4];
        keyId_ += kDigits[byte & 15];
    }
}

std::string KeyEncryptor::encrypt(const std::string& plaintext) const {
    std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
    auto* bytes = reinterpret_cast<unsigned char*>(out.data());
    if (RAND_bytes(bytes, kNonceBytes) != 1) throw std::runtime_error("RAND_bytes failed");
    CipherContext context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    int length = 0;
    if (EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr,
                           reinterpret_cast<const unsigned char*>(key_.data()), bytes) != 1 ||
        EVP_EncryptUpdate(context.get(), bytes + kNonceBytes, &length,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(context.get(), bytes + kNonceBytes + length, &length) != 1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                            bytes + kNonceBytes + plaintext.size()) != 1)
        throw std::runtime_error("AES-256-GCM encryption failed: " + opensslError());
    return base64UrlEncode(out);
}

std::string KeyEncryptor::decrypt(const std::string& sealed) const {
    std::string in = base64UrlDecode(sealed);
    if (in.size() < static_cast<std::size_t>(kNonceBytes + kTagBytes))
        throw std::runtime_error("sealed key too short");
    auto* bytes = reinterpret_cast<unsigned char*>(in.data());
    const int bodySize = static_cast<int>(in.size()) - kNonceBytes - kTagBytes;
    std::string out(static_cast<std::size_t>(bodySize), '\0');
    CipherContext context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    int length = 0;
    if (EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr,
                           reinterpret_cast<const unsigned char*>(key_.data()), bytes) != 1 ||
        EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(out.data()), &length,
                          bytes + kNonceBytes, bodySize) != 1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                            bytes + kNonceBytes + bodySize) != 1 ||
        EVP_DecryptFinal_ex(context.get(), reinterpret_cast<unsigned char*>(out.data()) + length,
                            &length) != 1)
        throw std::runtime_error("cannot decrypt key: wrong key-encryption key or damaged data");
    return out;
}

}  // namespace dnsh
