// dnsh-admin export-cert writes the decrypted key only where its user alone decides (issue 11):
// a directory it creates 0700, or an existing one it owns that nobody else can write to; never
// through a symlink, never over a file someone placed there.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "crypto/key_encryption.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;
namespace fs = std::filesystem;

namespace {

// A domain with a certificate row whose key is sealed under the stack's KEK.
std::string domainWithCertificate(Leftovers& leftovers) {
    const TestDomain domain = registerDomain("export", leftovers);
    const auto kek = dnsh::KeyEncryptor::fromFile(requireEnv("KEY_ENCRYPTION_KEY_FILE"));
    const dnsh::Pkey key = dnsh::generateEcdsaP256Key();
    execute(
        "INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
        "private_key_ciphertext, key_id, issued_at, expires_at) VALUES (" +
        quoted(dnsh::randomHex(16)) + ", " + quoted(domain.id) + ", 'CERT', 'CHAIN', " +
        quoted(kek.encrypt(dnsh::privateKeyToPem(key.get()))) + ", " + quoted(kek.keyId()) +
        ", now(), now() + interval '90 days')");
    return domain.id;
}

CommandResult exportCert(const std::string& id, const std::string& out) {
    return runCommand(requireEnv("DNSH_ADMIN_BIN") + " export-cert " + id + " --out " + out);
}

}  // namespace

TEST_CASE("export-cert: a new directory 0700, files 0644/0644/0600, written once") {
    Leftovers leftovers;
    const std::string id = domainWithCertificate(leftovers);
    TempDir base;
    const std::string out = base.path() + "/new";
    const CommandResult done = exportCert(id, out);
    INFO(done.output);
    REQUIRE(done.exitCode == 0);
    auto mode = [](const std::string& path) {
        struct stat info {};
        ::stat(path.c_str(), &info);
        return info.st_mode & 0777;
    };
    CHECK(mode(out) == 0700);
    CHECK(mode(out + "/cert.pem") == 0644);
    CHECK(mode(out + "/chain.pem") == 0644);
    CHECK(mode(out + "/key.pem") == 0600);
    CHECK(readFile(out + "/key.pem").find("PRIVATE KEY") != std::string::npos);
    // Exporting again into the same directory does not overwrite what is there.
    const CommandResult again = exportCert(id, out);
    CHECK(again.exitCode != 0);
    CHECK(again.output.find("must not exist yet") != std::string::npos);
}

TEST_CASE("export-cert: refuses symlinks and directories others can write to, writing nothing") {
    Leftovers leftovers;
    const std::string id = domainWithCertificate(leftovers);
    TempDir base;
    const std::string victim = base.path() + "/victim";
    fs::create_directory(victim);
    struct Case {
        std::string description;
        std::function<std::string()> prepare;  // returns the --out path
    };
    const std::vector<Case> cases{
        {"the directory is a symlink to another one",
         [&] {
             fs::create_directory_symlink(victim, base.path() + "/link");
             return base.path() + "/link";
         }},
        {"key.pem is already a symlink to a file elsewhere",
         [&] {
             const std::string dir = base.path() + "/planted";
             fs::create_directory(dir);
             fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
             fs::create_symlink(victim + "/stolen.pem", dir + "/key.pem");
             return dir;
         }},
        {"a directory everybody may write to",
         [&] {
             const std::string dir = base.path() + "/open";
             fs::create_directory(dir);
             fs::permissions(dir, fs::perms::all, fs::perm_options::replace);
             return dir;
         }},
    };
    for (const auto& c : cases) {
        CAPTURE(c.description);
        const CommandResult result = exportCert(id, c.prepare());
        INFO(result.output);
        CHECK(result.exitCode != 0);
        CHECK(fs::is_empty(victim));  // nothing reached the place the link pointed at
    }
    CHECK_FALSE(fs::exists(base.path() + "/open/key.pem"));
}

TEST_CASE("export-cert: a file it cannot write leaves none of the three behind, so a retry works") {
    Leftovers leftovers;
    const std::string id = domainWithCertificate(leftovers);
    TempDir base;
    const std::string out = base.path() + "/partly";
    fs::create_directory(out);
    fs::permissions(out, fs::perms::owner_all, fs::perm_options::replace);
    // The last of the three already there (an earlier export's, or someone's).
    { std::ofstream(out + "/key.pem") << "not ours"; }
    const CommandResult refused = exportCert(id, out);
    INFO(refused.output);
    CHECK(refused.exitCode != 0);
    CHECK(refused.output.find("key.pem (it must not exist yet)") != std::string::npos);
    CHECK_FALSE(fs::exists(out + "/cert.pem"));
    CHECK_FALSE(fs::exists(out + "/chain.pem"));
    CHECK(readFile(out + "/key.pem") == "not ours");  // not this run's to remove
    // Once the operator moved it away, the same command completes.
    fs::remove(out + "/key.pem");
    const CommandResult retried = exportCert(id, out);
    INFO(retried.output);
    CHECK(retried.exitCode == 0);
    CHECK(readFile(out + "/cert.pem") == "CERT");
    CHECK(readFile(out + "/key.pem").find("PRIVATE KEY") != std::string::npos);
}
