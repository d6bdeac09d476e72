// KeyEncryptor with several KEK files (KEY_ENCRYPTION_KEY_FILE=a,b,c): the first present seals,
// every present one opens, files are read again when they change, missing ones are skipped, and
// a file that group or others may access is refused (as ssh refuses such a private key).
#include "crypto/key_encryption.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "crypto/random.hpp"

namespace {

namespace fs = std::filesystem;

// A directory of KEK files, removed at the end.
struct KekDir {
    fs::path path = fs::temp_directory_path() / ("dnsh-kek-" + dnsh::randomHex(8));
    KekDir() { fs::create_directories(path); }
    ~KekDir() { fs::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
    // Written beside and renamed into place, as the README's rotation steps do; mode 0600
    // unless told otherwise (a KEK file must be private to its owner).
    std::string write(const std::string& name, const std::string& hex,
                      fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) const {
        const std::string temporary = file(name + ".tmp");
        std::ofstream(temporary) << hex << "\n";
        fs::permissions(temporary, mode);
        fs::rename(temporary, file(name));
        return file(name);
    }
};

const std::string kOld(64, 'a');
const std::string kNew(64, 'b');
const std::string kOther(64, 'c');

std::string idOf(const std::string& hex) {
    const KekDir dir;
    return dnsh::KeyEncryptor::fromFile(dir.write("k", hex)).keyId();
}

}  // namespace

TEST_CASE("one KEK file: seals and opens, and knows which KEK a sealed key is under") {
    const KekDir dir;
    const auto kek = dnsh::KeyEncryptor::fromFile(dir.write("kek", kOld));
    const auto sealed = kek.seal("secret");
    CHECK(sealed.keyId == kek.keyId());
    CHECK(kek.decrypt(sealed.ciphertext) == "secret");
    CHECK(kek.keyIdOf(sealed.ciphertext) == kek.keyId());
    CHECK(kek.encrypt("secret") != sealed.ciphertext);  // a fresh nonce each time
}

TEST_CASE("several KEK files: the first present seals, every present one opens") {
    const KekDir dir;
    const std::string list = dir.file("kek") + "," + dir.file("kek.next") + "," + dir.file("kek.previous");
    struct Case {
        const char* description;
        std::string kek, next, previous;  // "" = the file does not exist
        std::string sealingKey;
    };
    const Case cases[] = {
        {"only the first", kOld, "", "", kOld},
        {"first and next: the first still seals", kOld, kNew, "", kOld},
        {"first and previous", kNew, "", kOld, kNew},
        {"the first missing: the next one seals", "", kNew, kOld, kNew},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const std::vector<std::pair<std::string, std::string>> files = {
            {"kek", c.kek}, {"kek.next", c.next}, {"kek.previous", c.previous}};
        for (const auto& [name, hex] : files) {
            if (hex.empty()) fs::remove(dir.file(name));
            else dir.write(name, hex);
        }
        const auto ring = dnsh::KeyEncryptor::fromFile(list);
        CHECK(ring.keyId() == idOf(c.sealingKey));
        for (const auto& hex : {c.kek, c.next, c.previous}) {
            if (hex.empty()) continue;
            const auto single = dnsh::KeyEncryptor::fromFile(dir.write("single", hex));
            const std::string sealed = single.encrypt("from " + hex.substr(0, 1));
            CHECK(ring.decrypt(sealed) == "from " + hex.substr(0, 1));
            CHECK(ring.keyIdOf(sealed) == single.keyId());
        }
        // What rotate-kek checks every stored key's label against: the present files' KEKs.
        std::vector<std::string> present;
        for (const auto& hex : {c.kek, c.next, c.previous})
            if (!hex.empty()) present.push_back(idOf(hex));
        CHECK(ring.keyIds() == present);
        const auto stranger = dnsh::KeyEncryptor::fromFile(dir.write("stranger", kOther));
        CHECK_THROWS(ring.decrypt(stranger.encrypt("x")));
        CHECK_THROWS(ring.keyIdOf(stranger.encrypt("x")));
    }
}

TEST_CASE("KEK files are read again when they change, with no restart") {
    const KekDir dir;
    dir.write("kek", kOld);
    const auto ring = dnsh::KeyEncryptor::fromFile(dir.file("kek") + "," + dir.file("kek.next") +
                                                   "," + dir.file("kek.previous"));
    const auto copy = ring;  // copies share the files' state (the issuer keeps one)
    const std::string underOld = ring.encrypt("old secret");
    CHECK(ring.keyId() == idOf(kOld));

    // The README's steps: next and previous in place, then next renamed over the first.
    dir.write("kek.next", kNew);
    dir.write("kek.previous", kOld);
    CHECK(ring.keyId() == idOf(kOld));
    const auto frozen = ring.snapshot();
    fs::rename(dir.file("kek.next"), dir.file("kek"));
    CHECK(ring.keyId() == idOf(kNew));
    CHECK(copy.keyId() == idOf(kNew));
    CHECK(frozen.keyId() == idOf(kOld));  // a snapshot is never re-read
    const std::string underNew = ring.encrypt("new secret");
    CHECK(ring.decrypt(underOld) == "old secret");
    CHECK(ring.decrypt(underNew) == "new secret");

    // The old KEK removed: what was sealed under it no longer opens.
    fs::remove(dir.file("kek.previous"));
    CHECK(ring.decrypt(underNew) == "new secret");
    CHECK_THROWS(ring.decrypt(underOld));
    CHECK(frozen.decrypt(underOld) == "old secret");
}

TEST_CASE("KEY_ENCRYPTION_KEY_FILE that names no usable file is refused") {
    const KekDir dir;
    CHECK_THROWS_WITH(dnsh::KeyEncryptor::fromFile(dir.file("missing")),
                      doctest::Contains("none of its files exists"));
    CHECK_THROWS_WITH(dnsh::KeyEncryptor::fromFile(","), doctest::Contains("names no file"));
    CHECK_THROWS_WITH(dnsh::KeyEncryptor::fromFile(dir.write("short", "abcd")),
                      doctest::Contains("64 hex characters"));
    CHECK_THROWS_WITH(dnsh::KeyEncryptor::fromFile(dir.write("kek", kOld) + "," + dir.write("bad", "zz")),
                      doctest::Contains("64 hex characters"));
}

TEST_CASE("a KEK file that group or others may read or write is refused, naming it and its mode") {
    const KekDir dir;
    using fs::perms;
    const perms owner = perms::owner_read | perms::owner_write;
    struct Case {
        const char* description;
        perms mode;
        const char* shown;
    };
    const Case refused[] = {
        {"group-readable (the old README's 0640)", owner | perms::group_read, "0640"},
        {"world-readable (umask 022)", owner | perms::group_read | perms::others_read, "0644"},
        {"group-writable", owner | perms::group_write, "0620"},
        {"others may write", owner | perms::others_write, "0602"},
        {"others may execute", owner | perms::others_exec, "0601"},
    };
    for (const auto& c : refused) {
        const std::string description = c.description;
        CAPTURE(description);
        const std::string path = dir.write("kek", kOld, c.mode);
        try {
            dnsh::KeyEncryptor::fromFile(path);
            FAIL("accepted");
        } catch (const std::runtime_error& e) {
            const std::string message = e.what();
            CHECK(message.find(path) != std::string::npos);
            CHECK(message.find(std::string("mode ") + c.shown) != std::string::npos);
            CHECK(message.find(kOld) == std::string::npos);
        }
    }
    CHECK_NOTHROW(dnsh::KeyEncryptor::fromFile(dir.write("kek", kOld, owner)));
    CHECK_NOTHROW(dnsh::KeyEncryptor::fromFile(dir.write("kek", kOld, perms::owner_read)));

    // Read again during a rotation: a kek.next dropped in readable by others stops the use
    // of the keys (naming it) instead of being taken.
    const auto ring =
        dnsh::KeyEncryptor::fromFile(dir.write("kek", kOld) + "," + dir.file("kek.next"));
    const std::string sealed = ring.encrypt("secret");
    dir.write("kek.next", kNew, owner | perms::group_read | perms::others_read);
    const std::string refusal = dir.file("kek.next") + " has mode 0644";
    CHECK_THROWS_WITH(ring.decrypt(sealed), doctest::Contains(refusal.c_str()));
    fs::permissions(dir.file("kek.next"), owner);
    CHECK(ring.decrypt(sealed) == "secret");
}
