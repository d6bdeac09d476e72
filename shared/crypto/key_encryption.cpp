#include "crypto/key_encryption.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <optional>
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

KeyEncryptor::Key makeKey(std::string key32) {
    if (key32.size() != 32) throw std::invalid_argument("KEK must be 32 bytes");
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string id;
    for (unsigned char byte : sha256(key32)) {
        if (id.size() == 16) break;
        id += kDigits[byte >> 4];
        id += kDigits[byte & 15];
    }
    return {std::move(key32), std::move(id)};
}

// What tells that a key file changed: a rotation replaces files by rename (a new inode) or
// removes them; an edit in place changes size or mtime.
struct FileStamp {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    long long mtimeNs = 0;
    bool operator==(const FileStamp&) const = default;
};

FileStamp stampOf(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        if (errno == ENOENT) return {};
        throw std::runtime_error("cannot read KEY_ENCRYPTION_KEY_FILE " + path);
    }
    return {true, info.st_dev, info.st_ino, info.st_size,
            static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec};
}

// The key in `path`, or nothing when the file does not exist.
std::optional<KeyEncryptor::Key> readKeyFile(const std::string& path) {
    std::ifstream file(path);
    if (!file) {
        if (errno == ENOENT) return std::nullopt;
        throw std::runtime_error("cannot read KEY_ENCRYPTION_KEY_FILE " + path);
    }
    std::string hex;
    file >> hex;
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        throw std::runtime_error("KEY_ENCRYPTION_KEY_FILE " + path +
                                 " must hold 64 hex characters (openssl rand -hex 32)");
    return makeKey(fromHex(hex));
}

std::vector<std::string> splitPaths(const std::string& paths) {
    std::vector<std::string> out;
    std::stringstream list(paths);
    for (std::string path; std::getline(list, path, ',');)
        if (!path.empty()) out.push_back(path);
    if (out.empty()) throw std::runtime_error("KEY_ENCRYPTION_KEY_FILE names no file");
    return out;
}

std::optional<std::string> unseal(const KeyEncryptor::Key& key, const std::string& sealed) {
    std::string in = base64UrlDecode(sealed);
    if (in.size() < static_cast<std::size_t>(kNonceBytes + kTagBytes))
        throw std::runtime_error("sealed key too short");
    auto* bytes = reinterpret_cast<unsigned char*>(in.data());
    const int bodySize = static_cast<int>(in.size()) - kNonceBytes - kTagBytes;
    std::string out(static_cast<std::size_t>(bodySize), '\0');
    CipherContext context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    int length = 0;
    if (EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr,
                           reinterpret_cast<const unsigned char*>(key.bytes.data()), bytes) != 1 ||
        EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(out.data()), &length,
                          bytes + kNonceBytes, bodySize) != 1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                            bytes + kNonceBytes + bodySize) != 1 ||
        EVP_DecryptFinal_ex(context.get(), reinterpret_cast<unsigned char*>(out.data()) + length,
                            &length) != 1)
        return std::nullopt;
    return out;
}

}  // namespace

// The KEKs and, when they come from files, what the files looked like when last read.
struct KeyEncryptor::KeyRing {
    std::mutex mutex;
    std::vector<std::string> paths;  // empty: fixed keys
    std::vector<FileStamp> stamps;
    std::shared_ptr<const std::vector<Key>> keys;

    void load() {
        std::vector<FileStamp> seen;
        auto loaded = std::make_shared<std::vector<Key>>();
        for (const auto& path : paths) {
            seen.push_back(stampOf(path));
            if (auto key = readKeyFile(path)) loaded->push_back(std::move(*key));
        }
        if (loaded->empty())
            throw std::runtime_error("cannot read KEY_ENCRYPTION_KEY_FILE " + paths.front() +
                                     ": none of its files exists");
        stamps = std::move(seen);
        keys = std::move(loaded);
    }

    std::shared_ptr<const std::vector<Key>> current() {
        std::lock_guard lock(mutex);
        if (paths.empty()) return keys;
        for (std::size_t i = 0; i < paths.size(); ++i) {
            if (stampOf(paths[i]) == stamps[i]) continue;
            load();
            break;
        }
        return keys;
    }
};

KeyEncryptor KeyEncryptor::fromFile(const std::string& paths) {
    auto ring = std::make_shared<KeyRing>();
    ring->paths = splitPaths(paths);
    ring->load();
    return KeyEncryptor(std::move(ring));
}

KeyEncryptor::KeyEncryptor(std::string key32) : ring_(std::make_shared<KeyRing>()) {
    ring_->keys = std::make_shared<const std::vector<Key>>(1, makeKey(std::move(key32)));
}

std::shared_ptr<const std::vector<KeyEncryptor::Key>> KeyEncryptor::keys() const {
    return ring_->current();
}

std::string KeyEncryptor::keyId() const {
    return keys()->front().id;
}

KeyEncryptor KeyEncryptor::snapshot() const {
    auto ring = std::make_shared<KeyRing>();
    ring->keys = keys();
    return KeyEncryptor(std::move(ring));
}

KeyEncryptor::Sealed KeyEncryptor::seal(const std::string& plaintext) const {
    const auto current = keys();
    const Key& key = current->front();
    std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
    auto* bytes = reinterpret_cast<unsigned char*>(out.data());
    if (RAND_bytes(bytes, kNonceBytes) != 1) throw std::runtime_error("RAND_bytes failed");
    CipherContext context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
    int length = 0;
    if (EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr,
                           reinterpret_cast<const unsigned char*>(key.bytes.data()), bytes) != 1 ||
        EVP_EncryptUpdate(context.get(), bytes + kNonceBytes, &length,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(context.get(), bytes + kNonceBytes + length, &length) != 1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                            bytes + kNonceBytes + plaintext.size()) != 1)
        throw std::runtime_error("AES-256-GCM encryption failed: " + opensslError());
    return {base64UrlEncode(out), key.id};
}

std::string KeyEncryptor::decrypt(const std::string& sealed) const {
    for (const Key& key : *keys())
        if (auto plaintext = unseal(key, sealed)) return std::move(*plaintext);
    throw std::runtime_error("cannot decrypt key: wrong key-encryption key or damaged data");
}

std::string KeyEncryptor::keyIdOf(const std::string& sealed) const {
    for (const Key& key : *keys())
        if (unseal(key, sealed)) return key.id;
    throw std::runtime_error("cannot decrypt key: wrong key-encryption key or damaged data");
}

}  // namespace dnsh
