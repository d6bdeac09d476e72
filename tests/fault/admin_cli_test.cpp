// dnsh-admin for the day-to-day (issue 11): list (by expiry, status, --json), show, renew now,
// retry a failed domain, delete; against the test stack's database and CA, as an operator runs it.
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/reader_gone.hpp"
#include "support/scratch_database.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;

namespace {

CommandResult admin(const std::string& arguments) {
    return runCommand(requireEnv("DNSH_ADMIN_BIN") + " " + arguments);
}

// `text` quoted for the shell.
std::string shellQuoted(const std::string& text) {
    std::string quotedText = "'";
    for (char c : text) quotedText += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quotedText + "'";
}

// An active domain whose certificate expires `days` from now (rows written directly).
TestDomain activeWithCertificate(const std::string& prefix, int days, Leftovers& leftovers) {
    const TestDomain domain = registerDomain(prefix, leftovers);
    execute("UPDATE domains SET status = 'active', verified_at = now() WHERE id = " +
            quoted(domain.id) +
            "; INSERT INTO certificates (id, domain_id, certificate_pem, chain_pem, "
            "private_key_ciphertext, key_id, issued_at, expires_at, renew_at) VALUES (" +
            quoted(dnsh::randomHex(16)) + ", " + quoted(domain.id) +
            ", 'CERT', 'CHAIN', 'sealed', 'k', now(), now() + interval '" + std::to_string(days) +
            " days', now() + interval '" + std::to_string(days / 2) + " days')");
    return domain;
}

}  // namespace

TEST_CASE("dnsh-admin: list by expiry with filters and --json, show, renew now") {
    Leftovers leftovers;
    const TestDomain soon = activeWithCertificate("admin-soon", 3, leftovers);
    const TestDomain later = activeWithCertificate("admin-later", 60, leftovers);

    const CommandResult table = admin("list --expiring-within 7d");
    INFO(table.output);
    REQUIRE(table.exitCode == 0);
    CHECK(table.output.rfind("ID", 0) == 0);  // a header line, then rows
    CHECK(table.output.find(soon.id) != std::string::npos);
    CHECK(table.output.find(later.id) == std::string::npos);

    const CommandResult json = admin("list --status active --expiring-within 90d --json");
    REQUIRE(json.exitCode == 0);
    Poco::JSON::Parser parser;
    const auto items = parser.parse(json.output).extract<Poco::JSON::Array::Ptr>();
    bool sawSoon = false, sawLater = false, ordered = true;
    std::string previous;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const auto item = items->getObject(i);
        CHECK(item->getValue<std::string>("status") == "active");
        const std::string expires = item->getValue<std::string>("expires_at");
        if (!previous.empty() && expires < previous) ordered = false;
        previous = expires;
        sawSoon |= item->getValue<std::string>("id") == soon.id;
        sawLater |= item->getValue<std::string>("id") == later.id;
    }
    CHECK(sawSoon);
    CHECK(sawLater);
    CHECK(ordered);  // soonest expiry first

    const CommandResult shown = admin("show " + later.id + " --json");
    REQUIRE(shown.exitCode == 0);
    const auto view = parser.parse(shown.output).extract<Poco::JSON::Object::Ptr>();
    CHECK(view->getValue<std::string>("id") == later.id);
    CHECK(view->getObject("renewal")->getValue<std::string>("status") == "scheduled");

    CHECK(admin("renew " + later.id).exitCode == 0);
    CHECK(count("SELECT count(*) FROM certificates WHERE renew_at <= now() AND domain_id = " +
                quoted(later.id)) == 1);
    execute("UPDATE certificates SET renew_at = NULL WHERE domain_id = " + quoted(later.id));

    // Errors say what is wrong, with distinct exit codes.
    CHECK(admin("renew 0123456789abcdef0123456789abcdef").exitCode == 65);  // EX_DATAERR
    CHECK(admin("list --status bogus").exitCode == 64);                     // EX_USAGE
    const TestDomain pending = registerDomain("admin-pending", leftovers);
    const CommandResult nothing = admin("renew " + pending.id);
    CHECK(nothing.exitCode != 0);
    CHECK(nothing.output.find("nothing to renew") != std::string::npos);
}

TEST_CASE("dnsh-admin: retry places a fresh order for a failed domain, delete removes one") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("admin-retry", leftovers);
    execute(
        "UPDATE domains SET status = 'failed', error = 'test', error_code = 'internal' "
        "WHERE id = " +
        quoted(domain.id));
    const CommandResult retried = admin("retry " + domain.id + " --json");
    INFO(retried.output);
    REQUIRE(retried.exitCode == 0);
    CHECK(retried.output.find("\"status\":\"certificate_pending\"") != std::string::npos);
    CHECK(scalar("SELECT status FROM domains WHERE id = " + quoted(domain.id)) ==
          "certificate_pending");

    CHECK(admin("delete " + domain.id).exitCode == 0);
    CHECK(count("SELECT count(*) FROM domains WHERE id = " + quoted(domain.id)) == 0);
    CHECK(count("SELECT count(*) FROM acme_orders WHERE domain_id = " + quoted(domain.id)) == 0);
    CHECK(admin("delete " + domain.id).exitCode == 65);
}

TEST_CASE("dnsh-admin retry: the backoff after failures does not hold an operator back") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("admin-backoff", leftovers);
    // Five failures in a row, the next try two hours away: the operator has fixed the DNS with
    // the customer. The retry was refused as issue-certificate's 429, exit 70.
    std::string failed =
        "UPDATE domains SET status = 'failed', error = 'test', error_code = 'internal', "
        "issue_failures = 5, issue_retry_at = now() + interval '2 hours' WHERE id = ";
    failed += quoted(domain.id);
    execute(failed);
    const CommandResult retried = admin("retry " + domain.id);
    INFO(retried.output);
    REQUIRE(retried.exitCode == 0);
    std::string status = "SELECT status FROM domains WHERE id = ";
    status += quoted(domain.id);
    CHECK(scalar(status) == "certificate_pending");
    CHECK(admin("delete " + domain.id).exitCode == 0);
}

TEST_CASE("dnsh-admin retry within a CA's rate-limit wait exits 75 and says how long") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("admin-ratelimited", leftovers);
    // No failure in a row: the wait is the one after the CA's rate limit, which holds (asking
    // sooner only earns another refusal). It exited 70, as for a broken database.
    std::string limited =
        "UPDATE domains SET issue_retry_at = now() + interval '2 hours' WHERE id = ";
    limited += quoted(domain.id);
    execute(limited);
    const CommandResult refused = admin("retry " + domain.id);
    INFO(refused.output);
    CHECK(refused.exitCode == 75);  // EX_TEMPFAIL
    CHECK(refused.output.find("rate-limiting") != std::string::npos);
    CHECK(refused.output.find("retry in ") != std::string::npos);
    std::string status = "SELECT status FROM domains WHERE id = ";
    status += quoted(domain.id);
    CHECK(scalar(status) == "verified");
}

TEST_CASE("dnsh-admin retry of a failed domain is held by a CA's rate-limit wait after its failures") {
    Leftovers leftovers;
    const TestDomain domain = verifiedDomain("admin-failed-ratelimited", leftovers);
    // Three failures, then the CA rate-limited a client's issue-certificate: its wait was lost
    // among the backoff's (one column) and the operator's retry asked the CA again.
    std::string limited =
        "UPDATE domains SET status = 'failed', issue_failures = 3, issue_retry_at = now() + "
        "interval '2 hours', issue_rate_limited_until = now() + interval '1 hour' WHERE id = ";
    limited += quoted(domain.id);
    execute(limited);
    const CommandResult refused = admin("retry " + domain.id);
    INFO(refused.output);
    CHECK(refused.exitCode == 75);
    CHECK(refused.output.find("rate-limiting") != std::string::npos);
    CHECK(refused.output.find("retry in 3600 s") != std::string::npos);
    std::string status = "SELECT status FROM domains WHERE id = ";
    status += quoted(domain.id);
    CHECK(scalar(status) == "failed");
    // The wait over, the backoff's two hours do not hold the operator back.
    std::string over = "UPDATE domains SET issue_rate_limited_until = now() - interval '1 second' "
                       "WHERE id = ";
    over += quoted(domain.id);
    execute(over);
    const CommandResult retried = admin("retry " + domain.id);
    INFO(retried.output);
    CHECK(retried.exitCode == 0);
    CHECK(scalar(status) == "certificate_pending");
    CHECK(admin("delete " + domain.id).exitCode == 0);
}

TEST_CASE("dnsh-admin: a word or an option the command does not take is refused with 64") {
    // --status meant: the word was ignored and every domain listed, exit 0.
    const CommandResult listed = admin("list failed");
    INFO(listed.output);
    CHECK(listed.exitCode == 64);  // EX_USAGE
    CHECK(listed.output.find("usage: dnsh-admin list") != std::string::npos);
    CHECK(listed.output.find("DOMAIN") == std::string::npos);  // no table
    CHECK(admin("migrate extra").exitCode == 64);
    // An option of another command: renew has no --json (it was 65, the unknown domain).
    CHECK(admin("renew 0123456789abcdef0123456789abcdef --json").exitCode == 64);
    // An empty value (`--status "$S"` with S unset) was read as no option: every domain listed.
    const CommandResult empty = admin("list --status=");
    INFO(empty.output);
    CHECK(empty.exitCode == 64);
    CHECK(empty.output.find("--status was given an empty value") != std::string::npos);
    CHECK(empty.output.find("DOMAIN") == std::string::npos);
}

TEST_CASE("dnsh-admin migrate: a DATABASE_URL libpq refuses is named in the error, no password") {
    // An option value libpq refuses before it connects: PQping says only PQPING_NO_ATTEMPT, and
    // the log used to say "PostgreSQL is not accepting connections" for it.
    const std::string password = "Pa55-" + dnsh::randomHex(8);
    const std::string url = databaseUrl();
    const bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
    const std::string broken =
        uri ? url + (url.find('?') == std::string::npos ? "?" : "&") + "password=" + password +
                  "&sslmode=verify_full"
            : url + " password=" + password + " sslmode=verify_full";
    const CommandResult migrated = runCommand("DATABASE_URL=" + shellQuoted(broken) + " " +
                                              requireEnv("DNSH_ADMIN_BIN") + " migrate");
    INFO(migrated.output);
    CHECK(migrated.exitCode == 70);  // EX_SOFTWARE, as for any database unavailable
    CHECK(migrated.output.find("database unavailable") != std::string::npos);
    CHECK(migrated.output.find("sslmode") != std::string::npos);
    CHECK(migrated.output.find("not accepting connections") == std::string::npos);
    CHECK(migrated.output.find(password) == std::string::npos);
}

TEST_CASE("dnsh-admin list --json with the database unreachable exits 70 with no JSON a script "
          "could take for an empty list") {
    // Its array is opened before the first page is read; closed at the error it was "[]", which
    // `dnsh-admin list --json | jq length` read as 0 domains.
    // stdout alone: runCommand adds 2>&1 after the command, outside these braces.
    const CommandResult listed = runCommand(
        "{ DATABASE_URL='host=127.0.0.1 port=1 dbname=dnsh connect_timeout=2' " +
        requireEnv("DNSH_ADMIN_BIN") + " list --json 2>/dev/null; }");
    INFO(listed.output);
    CHECK(listed.exitCode == 70);
    bool parsed = true;
    try {
        Poco::JSON::Parser().parse(listed.output);
    } catch (const std::exception&) {
        parsed = false;
    }
    CHECK_MESSAGE(!parsed, "a failed list --json parses as JSON: '" << listed.output << "'");
}

TEST_CASE("dnsh-admin ari-refresh --all with the database never reached exits 70, not the 75 "
          "of a run the database stopped part way") {
    // A wrapper retries on 75 (EX_TEMPFAIL): a wrong DATABASE_URL must not look like a full disk.
    const CommandResult refreshed =
        runCommand("DATABASE_URL='host=127.0.0.1 port=1 dbname=dnsh connect_timeout=2' " +
                   requireEnv("DNSH_ADMIN_BIN") + " ari-refresh --all");
    INFO(refreshed.output);
    CHECK(refreshed.exitCode == 70);
    CHECK(refreshed.output.find("database unavailable") != std::string::npos);
    CHECK(refreshed.output.find("stopped after") == std::string::npos);
}

TEST_CASE("dnsh-admin list --expiring-within past 36500 days is bad usage (64)") {
    // Days skipped parseDuration's cap (876000h): this reached PostgreSQL, "interval out of
    // range", exit 70; near 4e17 days 24 * days overflowed (undefined behaviour).
    for (const std::string within : {"36501d", "1000000000000d", "400000000000000000d",
                                      "99999999999999999999999d"}) {
        const CommandResult listed = admin("list --expiring-within " + within);
        INFO(within << ": " << listed.output);
        CHECK(listed.exitCode == 64);  // EX_USAGE
        CHECK(listed.output.find("longer than 36500d") != std::string::npos);
    }
    const CommandResult longest = admin("list --status failed --expiring-within 36500d --json");
    INFO(longest.output);
    CHECK(longest.exitCode == 0);
}

TEST_CASE("dnsh-admin list with stdout on a full disk exits 74 and says so") {
    // /dev/full fails every write with ENOSPC, as a full disk does under `list > report.txt`:
    // it exited 0, the report empty. stdout alone goes there: runCommand adds 2>&1 after the
    // braces.
    for (const std::string arguments : {"list", "list --json"}) {
        const CommandResult listed =
            runCommand("{ " + requireEnv("DNSH_ADMIN_BIN") + " " + arguments + " >/dev/full; }");
        INFO(arguments << ": " << listed.output);
        CHECK(listed.exitCode == 74);  // EX_IOERR
        CHECK(listed.output.find("dnsh-admin list: stdout could not be written") !=
              std::string::npos);
    }
}

TEST_CASE("dnsh-admin list whose stdout reader went away exits 74 and says so: going on past "
          "a closed pipe is ari-refresh's alone") {
    // SIGPIPE ignored as it starts (inherited from a parent that ignores it), so the failed
    // write reaches the command as EPIPE: the output is cut, 74 as on a full disk. (At SIGPIPE's
    // default, `list | head -1` in a shell, the signal ends it before it can tell.) ari-refresh
    // goes on and keeps its exit code (README): tests/fault/ari_error_retry_test.cpp.
    Leftovers leftovers;
    activeWithCertificate("admin-reader-gone", 30, leftovers);  // a row to print, at least
    for (const bool asJson : {false, true}) {
        std::vector<std::string> arguments{"list"};
        if (asJson) arguments.push_back("--json");
        const ReaderGoneRun run = runWithReaderGone(requireEnv("DNSH_ADMIN_BIN"), arguments, {},
                                                    StartingSigpipe::Ignored,
                                                    std::chrono::seconds(60));
        INFO("--json: " << asJson << ", stderr: " << run.errors);
        CHECK(run.exitCode == 74);  // EX_IOERR
        CHECK(run.errors.find("dnsh-admin list: stdout could not be written") !=
              std::string::npos);
        CHECK(run.errors.find("stdout was closed") == std::string::npos);
    }
}

TEST_CASE("dnsh-admin migrate: a migration that fails is named, after the ones applied before it") {
    // A database at 028 where what 031 adds is there already (made by hand): 029 and 030 apply,
    // 031 fails. Only "failed: Database Exception" was shown, not that 029 and 030 were applied.
    ScratchDatabase scratch("dnsh_migrate_fails");
    scratch.migrate("028_delegation_cleanup");
    scratch.run("ALTER TABLE domains ADD COLUMN issue_rate_limited_until timestamptz");
    const TempDir logs;
    const std::string errors = logs.path() + "/stderr";
    const CommandResult migrated =
        runCommand("{ DATABASE_URL=" + shellQuoted(scratch.url()) + " LOG_LEVEL=error " +
                   requireEnv("DNSH_ADMIN_BIN") + " migrate 2>" + shellQuoted(errors) + "; }");
    const std::string failure = readFile(errors);
    INFO("stdout: " << migrated.output << "\nstderr: " << failure);
    CHECK(migrated.exitCode == 70);
    CHECK(migrated.output ==
          "applied 029_long_lived_expiry_index\napplied 030_idempotency_keys\n");
    CHECK(failure.find("migration 031_issue_rate_limit failed and was rolled back") !=
          std::string::npos);
    CHECK(failure.find("already exists") != std::string::npos);
    // 029 and 030 stay applied, 031 is not recorded.
    CHECK(scratch.text("SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations "
                       "WHERE name >= '029'") ==
          "029_long_lived_expiry_index,030_idempotency_keys");
}

TEST_CASE("dnsh-admin: a KEK file missing, or open to group or others, is a configuration "
          "error (78)") {
    // The database is never reached: were the KEK accepted, the command would fail there (70).
    const std::string nowhere =
        "DATABASE_URL='host=127.0.0.1 port=1 dbname=dnsh connect_timeout=2' ";
    const TempDir dir;
    const std::string open = dir.write("kek", dnsh::randomHex(32) + "\n");
    REQUIRE(::chmod(open.c_str(), 0640) == 0);  // the earlier advice
    const std::string missing = dir.path() + "/kek.missing";
    const std::string admin = requireEnv("DNSH_ADMIN_BIN");
    const std::string exportCert =
        " export-cert " + dnsh::randomHex(16) + " --out " + dir.path() + "/pem";
    // KeyEncryptor's refusal was a plain error: exit 70, "other failures", for a setting to fix.
    const CommandResult absent = runCommand(nowhere + "KEY_ENCRYPTION_KEY_FILE=" + missing + " " +
                                            admin + exportCert);
    INFO(absent.output);
    CHECK(absent.exitCode == 78);  // EX_CONFIG
    CHECK(absent.output.find("configuration error") != std::string::npos);
    CHECK(absent.output.find(missing) != std::string::npos);
    const CommandResult readable =
        runCommand(nowhere + "KEY_ENCRYPTION_KEY_FILE=" + open + " " + admin + exportCert);
    INFO(readable.output);
    CHECK(readable.exitCode == 78);
    CHECK(readable.output.find(open + " has mode 0640") != std::string::npos);
    // rotate-kek's --new-key-file is read the same way.
    const CommandResult rotated =
        runCommand(nowhere + admin + " rotate-kek --new-key-file " + open);
    INFO(rotated.output);
    CHECK(rotated.exitCode == 78);
    CHECK(rotated.output.find(open + " has mode 0640") != std::string::npos);
}
