// dnsh-admin migrate, export-cert and rotate-kek: the schema and the stored private keys.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "admin/certificate_export.hpp"
#include "admin/key_rotation.hpp"
#include "db/commit_wait.hpp"
#include "db/migrations.hpp"
#include "dnsh_admin_commands.hpp"
#include "dnsh_admin_stdout.hpp"
#include "issuance/issuer.hpp"

namespace dnsh_admin {

// Each migration is printed as it commits: when one fails (rolled back, the error on
// stderr names it, exit 70), the ones applied before it, which stay, are listed above.
// A migration's COMMIT is bounded as every commit is (db/commit_wait.hpp): with a synchronous
// standby away it would wait, its tables locked, as long as the standby is gone. Past
// DB_STATEMENT_TIMEOUT: 75. The migration is not rolled back: it is made when the standby
// confirms it, its locks (the migration lock too) held until then, so a run started meanwhile
// waits for them; a run after the standby's return applies what is missing.
int migrate(dnsh::Database& database) {
    const dnsh::CommitWaitScope commitWait(database.limits().statementTimeout);
    std::vector<std::string> applied;
    try {
        applied = dnsh::applyMigrations(
            database.session(), dnsh::embeddedMigrations(), [](const std::string& name) {
                std::cout << "applied " << name << std::endl;
                stdoutWriteError();  // why it failed, if it did, while errno still says
            });
    } catch (const dnsh::UnconfirmedCommit& e) {
        std::cerr << "dnsh-admin migrate: " << e.why() << "; run migrate again\n";
        return Poco::Util::Application::EXIT_TEMPFAIL;
    }
    if (applied.empty()) std::cout << "schema is up to date\n";
    return EXIT_OK;
}

int exportCert(dnsh::Database& database, const dnsh::Config& config,
               const Poco::Util::AbstractConfiguration& options,
               const std::vector<std::string>& arguments) {
    const std::string out = options.getString("admin.out", "");
    if (out.empty()) {
        std::cerr << "usage: dnsh-admin export-cert DOMAIN_ID --out DIR\n";
        return EXIT_USAGE;
    }
    dnsh::exportCertificate(database, dnsh::loadKeyEncryptor(config), arguments[1], out);
    std::cout << "wrote " << out << "/cert.pem, chain.pem, key.pem\n";
    return EXIT_OK;
}

// Without --new-key-file: re-seal under the first file of KEY_ENCRYPTION_KEY_FILE (the
// rotation with no restart). With it: under FILE, KEY_ENCRYPTION_KEY_FILE's keys opening.
int rotateKek(dnsh::Database& database, const dnsh::Config& config,
              const Poco::Util::AbstractConfiguration& options) {
    const std::string next = options.getString("admin.newKeyFile", "");
    const auto current = dnsh::loadKeyEncryptor(config);
    // FILE alone first: in a list a missing file is skipped (a staged rotation), so a typo
    // would "rotate" to the current KEK and report success.
    if (!next.empty() && ::access(next.c_str(), F_OK) != 0)
        throw dnsh::ConfigError("--new-key-file " + next + ": " + std::strerror(errno) +
                                " (nothing re-encrypted)");
    const auto keys =
        next.empty() ? current
                     : dnsh::keyEncryptorFromFiles(next + "," + config.keyEncryptionKeyFile);
    const int count = dnsh::rotateKeyEncryptionKey(database, keys);
    std::cout << "re-encrypted " << count << " private key(s) to KEK " << keys.keyId() << "\n";
    return EXIT_OK;
}

}  // namespace dnsh_admin
