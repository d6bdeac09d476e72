// SecretString (crypto/secret_string.hpp): every buffer that held a secret is zero when it goes
// back to the allocator, and a short secret kept inside the object itself is zero once the
// object is destroyed. Seen through an allocator that looks at each buffer as it is freed, and
// through storage the test owns: without the wipe, the bytes are still there and these fail.
#include "crypto/secret_string.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"

namespace {

// What each freed buffer held, as the allocator was given it back.
struct FreedBuffers {
    std::vector<std::string> contents;
    bool allZero() const {
        return std::all_of(contents.begin(), contents.end(), [](const std::string& bytes) {
            return bytes.find_first_not_of('\0') == std::string::npos;
        });
    }
    bool anyHolds(const std::string& text) const {
        return std::any_of(contents.begin(), contents.end(), [&](const std::string& bytes) {
            return bytes.find(text) != std::string::npos;
        });
    }
};
FreedBuffers freed;

template <typename T>
struct WatchingAllocator {
    using value_type = T;
    WatchingAllocator() = default;
    template <typename U>
    WatchingAllocator(const WatchingAllocator<U>&) {}
    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) {
        freed.contents.emplace_back(reinterpret_cast<const char*>(p), n * sizeof(T));
        std::allocator<T>().deallocate(p, n);
    }
    template <typename U>
    bool operator==(const WatchingAllocator<U>&) const { return true; }
};

using Watched = dnsh::BasicSecretString<WatchingAllocator<char>>;

// A secret long enough for a heap buffer of its own (past the small-string size).
const std::string kLongSecret =
    "-----BEGIN PRIVATE KEY-----MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg";

}  // namespace

TEST_CASE("SecretString: a heap buffer is wiped before it is freed") {
    freed = {};
    {
        const Watched secret(Watched::String(kLongSecret.begin(), kLongSecret.end()));
        CHECK(secret.view() == kLongSecret);
    }
    REQUIRE_FALSE(freed.contents.empty());
    CHECK_FALSE(freed.anyHolds("PRIVATE KEY"));
    CHECK(freed.allZero());
}

TEST_CASE("SecretString: moves, copies and growth leave no unwiped buffer behind") {
    freed = {};
    {
        Watched first(Watched::String(kLongSecret.begin(), kLongSecret.end()));
        Watched moved(std::move(first));
        Watched copy(moved);
        Watched assigned;
        assigned = copy;
        assigned = std::move(moved);
        // Growth past the capacity moves the bytes to a bigger buffer: the old one is wiped.
        for (int i = 0; i < 8; ++i) copy.append(kLongSecret);
        CHECK(copy.size() == 9 * kLongSecret.size());
        CHECK(assigned.view() == kLongSecret);
    }
    REQUIRE(freed.contents.size() >= 4);
    CHECK_FALSE(freed.anyHolds("PRIVATE KEY"));
    CHECK(freed.allZero());
}

TEST_CASE("SecretString: a short secret inside the object is wiped when it is destroyed") {
    // The object lives in storage the test owns, so the bytes can be looked at afterwards.
    alignas(dnsh::SecretString) unsigned char storage[sizeof(dnsh::SecretString)];
    auto* secret = new (storage) dnsh::SecretString(std::string("hunter2"));
    REQUIRE(std::string_view(reinterpret_cast<const char*>(storage), sizeof storage)
                .find("hunter2") != std::string_view::npos);  // in the object: the case applies
    std::destroy_at(secret);
    // clear() alone would zero the first byte only: look for the rest.
    CHECK(std::string_view(reinterpret_cast<const char*>(storage), sizeof storage)
              .find("unter2") == std::string_view::npos);
}

TEST_CASE("SecretString: what a moved-from std::string kept of a short secret is wiped") {
    std::string source = "hunter2";
    const char* inside = source.data();  // the small-string buffer inside `source`
    const dnsh::SecretString secret(std::move(source));
    CHECK(secret == "hunter2");
    CHECK(std::string_view(inside, 7).find_first_not_of('\0') == std::string_view::npos);
}

TEST_CASE("decrypted keys and PEM come back as SecretString") {
    static_assert(std::is_same_v<decltype(std::declval<dnsh::KeyEncryptor>().decrypt("")),
                                 dnsh::SecretString>);
    static_assert(
        std::is_same_v<decltype(dnsh::privateKeyToPem(nullptr)), dnsh::SecretString>);
    const dnsh::KeyEncryptor kek(dnsh::SecretString(std::string(32, 'k')));
    const dnsh::Pkey key = dnsh::generateEcdsaP256Key();
    const dnsh::SecretString pem = dnsh::privateKeyToPem(key.get());
    CHECK(kek.decrypt(kek.encrypt(pem)) == pem.view());
}
