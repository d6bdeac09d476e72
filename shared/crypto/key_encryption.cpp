#include "crypto/key_encryption.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>

#include "core/hex.hpp"
#include "crypto/keys.hpp"

namespace dnsh {

namespace {

constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

KeyEncryptor::Key makeKey(SecretString key32) {
    if (key32.size() != 32) throw std::invalid_argument("KEK must be 32 bytes");
    // The key's id: the first 8 bytes of its SHA-256, 16 hex digits.
    const std::vector<unsigned char> digest = sha256(key32);
    std::string id = lowerHex(std::span(digest).first(8));
    return {std::move(key32), std::move(id)};
}

std::string octalMode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
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
        throw KeyFileError("cannot read KEY_ENCRYPTION_KEY_FILE " + path);
    }
    return {true, info.st_dev, info.st_ino, info.st_size,
            static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec};
}

// Closes a file descriptor when it goes out of scope.
struct FileDescriptor {
    int fd;
    ~FileDescriptor() {
        if (fd >= 0) ::close(fd);
    }
};

// The key in `path`, or nothing when the file does not exist. Like ssh with a private key, a
// file that group or others may read or write is refused: the KEK opens every private key.
std::optional<KeyEncryptor::Key> readKeyFile(const std::string& path) {
    const FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw KeyFileError("cannot read KEY_ENCRYPTION_KEY_FILE " + path + ": " +
                                 std::strerror(errno));
    }
    struct stat info {};
    if (::fstat(file.fd, &info) != 0)
        throw KeyFileError("cannot read KEY_ENCRYPTION_KEY_FILE " + path + ": " +
                                 std::strerror(errno));
    if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        throw KeyFileError("KEY_ENCRYPTION_KEY_FILE " + path + " has mode " +
                                 octalMode(info.st_mode) +
                                 ": group or others may access it; a key-encryption key must be "
                                 "private to its owner (chmod 600 " + path + ")");
    // 64 hex characters and a newline; anything much longer is not a key file.
    char text[160];
    ssize_t length = 0;
    while (length < static_cast<ssize_t>(sizeof text)) {
        const ssize_t got = ::read(file.fd, text + length, sizeof text - length);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        length += got;
    }
    std::size_t begin = 0, end = static_cast<std::size_t>(length);
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    SecretString key32;
    if (end - begin == 64) {
        char bytes[32];
        bool hex = true;
        for (std::size_t i = 0; i < 32 && hex; ++i) {
            const int high = hexValue(text[begin + 2 * i]), low = hexValue(text[begin + 2 * i + 1]);
            hex = high >= 0 && low >= 0;
            bytes[i] = static_cast<char>(high * 16 + low);
        }
        if (hex) key32 = SecretString(bytes, sizeof bytes);
        OPENSSL_cleanse(bytes, sizeof bytes);
    }
    OPENSSL_cleanse(text, sizeof text);
    if (key32.empty())
        throw KeyFileError("KEY_ENCRYPTION_KEY_FILE " + path +
                                 " must hold 64 hex characters (openssl rand -hex 32)");
    return makeKey(std::move(key32));
}

std::vector<std::string> splitPaths(const std::string& paths) {
    std::vector<std::string> out;
    std::stringstream list(paths);
    for (std::string path; std::getline(list, path, ',');)
        if (!path.empty()) out.push_back(path);
    if (out.empty()) throw KeyFileError("KEY_ENCRYPTION_KEY_FILE names no file");
    return out;
}

// The plaintext, or nothing when `key` does not open `sealed`. What a failed attempt wrote before
// the tag was checked is unauthenticated plaintext too: wiped all the same.
std::optional<SecretString> unseal(const KeyEncryptor::Key& key, const std::string& sealed) {
    std::string in = base64UrlDecode(sealed);
    if (in.size() < static_cast<std::size_t>(kNonceBytes + kTagBytes))
        throw std::runtime_error("sealed key too short");
    auto* bytes = reinterpret_cast<unsigned char*>(in.data());
    const int bodySize = static_cast<int>(in.size()) - kNonceBytes - kTagBytes;
    SecretString out(std::string(static_cast<std::size_t>(bodySize), '\0'));
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
            throw KeyFileError("cannot read KEY_ENCRYPTION_KEY_FILE " + paths.front() +
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

KeyEncryptor::KeyEncryptor(SecretString key32) : ring_(std::make_shared<KeyRing>()) {
    ring_->keys = std::make_shared<const std::vector<Key>>(1, makeKey(std::move(key32)));
}

std::shared_ptr<const std::vector<KeyEncryptor::Key>> KeyEncryptor::keys() const {
    return ring_->current();
}

std::string KeyEncryptor::keyId() const {
    return keys()->front().id;
}

std::vector<std::string> KeyEncryptor::keyIds() const {
    std::vector<std::string> ids;
    for (const Key& key : *keys()) ids.push_back(key.id);
    return ids;
}

KeyEncryptor KeyEncryptor::snapshot() const {
    auto ring = std::make_shared<KeyRing>();
    ring->keys = keys();
    return KeyEncryptor(std::move(ring));
}

KeyEncryptor::Sealed KeyEncryptor::seal(std::string_view plaintext) const {
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

SecretString KeyEncryptor::decrypt(const std::string& sealed) const {
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
