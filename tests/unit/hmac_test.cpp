// HMAC-SHA256 against RFC 4231's test vectors (§4.2, §4.3, §4.7), called one after the other
// with different keys and again: each call's context is re-keyed, never carried over.
#include "crypto/hmac.hpp"

#include "core/hex.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using namespace dnsh;

namespace {

struct Vector {
    std::string description, key, message, mac;
};

const std::vector<Vector>& rfc4231() {
    static const std::vector<Vector> vectors{
        {"test case 1", std::string(20, '\x0b'), "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"test case 2", "Jefe", "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"test case 6, a key longer than the block", std::string(131, '\xaa'),
         "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    return vectors;
}

}  // namespace

TEST_CASE("HMAC-SHA256 gives RFC 4231's values, whatever came before it") {
    for (int pass = 1; pass <= 2; ++pass) {
        for (const auto& vector : rfc4231()) {
            CAPTURE(pass);
            CAPTURE(vector.description);
            CHECK(lowerHex(hmacSha256(vector.key, vector.message)) == vector.mac);
        }
    }
    // The long key last, then the short one: nothing of the long key stays.
    CHECK(lowerHex(hmacSha256(rfc4231()[2].key, rfc4231()[2].message)) == rfc4231()[2].mac);
    CHECK(lowerHex(hmacSha256(rfc4231()[1].key, rfc4231()[1].message)) == rfc4231()[1].mac);
}

TEST_CASE("HMAC-SHA256 from several threads at once gives the same values") {
    std::vector<std::thread> threads;
    std::vector<int> wrong(4, 0);
    for (std::size_t t = 0; t < wrong.size(); ++t)
        threads.emplace_back([&wrong, t] {
            for (int round = 0; round < 200; ++round)
                for (const auto& vector : rfc4231())
                    if (lowerHex(hmacSha256(vector.key, vector.message)) != vector.mac) ++wrong[t];
        });
    for (auto& thread : threads) thread.join();
    for (int count : wrong) CHECK(count == 0);
}
