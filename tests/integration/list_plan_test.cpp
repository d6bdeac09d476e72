// GET /domains's page query (issue 18 #15). As a named prepared statement (db/sql.hpp), from its
// sixth execution on a connection PostgreSQL may run a generic plan, planned without the
// parameters' values (plan_cache_mode=auto); a plan that cannot use the status or the cursor as
// index conditions reads every row newer than the cursor: O(N) for deep pages. Here the real
// statement runs through DomainRepository::listPage on one connection, many times, over 200,000
// domains in a scratch database, and auto_explain (log_analyze, sent to this client) shows the
// plan and the rows each execution actually read.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <map>
#include <string>
#include <vector>

#include "db/sql.hpp"
#include "domain/domain_repository.hpp"
#include "support/scratch_database.hpp"

using namespace dnsh;
using namespace dnsh::test;

namespace {

constexpr int kDomains = 200000;
constexpr int kPageRows = 101;  // what listDomains asks for a page of 100: one more than shown

// The plans auto_explain sends to this connection (client_min_messages=log), as JSON, while it
// lives.
class ExecutedPlans {
public:
    explicit ExecutedPlans(PGconn* connection) : connection_(connection) {
        previous_ = PQsetNoticeProcessor(connection_, &ExecutedPlans::collect, this);
    }
    ~ExecutedPlans() { PQsetNoticeProcessor(connection_, previous_, previousArg_); }
    ExecutedPlans(const ExecutedPlans&) = delete;
    ExecutedPlans& operator=(const ExecutedPlans&) = delete;

    // The plans logged since the last call whose query text contains `part`.
    std::vector<Poco::JSON::Object::Ptr> take(const std::string& part) {
        std::vector<Poco::JSON::Object::Ptr> found;
        for (const auto& message : messages_) {
            const std::size_t json = message.find('{');
            if (json == std::string::npos) continue;
            const auto plan = Poco::JSON::Parser()
                                  .parse(message.substr(json))
                                  .extract<Poco::JSON::Object::Ptr>();
            if (plan->optValue<std::string>("Query Text", "").find(part) != std::string::npos)
                found.push_back(plan);
        }
        messages_.clear();
        return found;
    }

private:
    static void collect(void* self, const char* message) {
        static_cast<ExecutedPlans*>(self)->messages_.emplace_back(message);
    }

    PGconn* connection_;
    PQnoticeProcessor previous_ = nullptr;
    void* previousArg_ = nullptr;
    std::vector<std::string> messages_;
};

void execute(PGconn* connection, const std::string& sql) {
    PGresult* result = PQexec(connection, sql.c_str());
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK ||
                    PQresultStatus(result) == PGRES_TUPLES_OK;
    const std::string error = PQresultErrorMessage(result);
    PQclear(result);
    REQUIRE_MESSAGE(ok, error);
}

struct RowsRead {
    long long rows = 0;  // rows of `domains` the scans produced or threw away, over every loop
    bool cursorInIndex = false;  // a scan of domains has the cursor in its Index Cond
    std::string scans;           // "Index Scan using domains_newest_idx [...]; ..." for messages
};

void walk(const Poco::JSON::Object::Ptr& node, RowsRead& read) {
    if (node->optValue<std::string>("Relation Name", "") == "domains") {
        const long long loops = node->optValue<long long>("Actual Loops", 1);
        read.rows += loops * (node->optValue<long long>("Actual Rows", 0) +
                              node->optValue<long long>("Rows Removed by Filter", 0) +
                              node->optValue<long long>("Rows Removed by Index Recheck", 0));
        const std::string condition = node->optValue<std::string>("Index Cond", "");
        if (condition.find("created_at") != std::string::npos) read.cursorInIndex = true;
        read.scans += node->optValue<std::string>("Node Type", "") + " using " +
                      node->optValue<std::string>("Index Name", "-") + " [" + condition +
                      (node->has("Filter") ? "; Filter: " + node->getValue<std::string>("Filter")
                                           : std::string()) +
                      "]; ";
    }
    if (const auto children = node->getArray("Plans"))
        for (std::size_t i = 0; i < children->size(); ++i)
            walk(children->getObject(static_cast<unsigned>(i)), read);
}

}  // namespace

TEST_CASE("domain list: the 6th and later executions of the page statement still walk the index") {
    ScratchDatabase scratch("dnsh_listplan");
    scratch.migrate();
    // Half active, half pending, one second apart, newest first = smallest i.
    scratch.run(
        "INSERT INTO domains (id, domain_name, verification_token, status, verified_at, "
        "created_at) SELECT md5(i::text), 'd' || i || '.example', repeat('0', 64), "
        "CASE WHEN i % 2 = 0 THEN 'active' ELSE 'pending' END, now(), "
        "timestamptz '2026-01-01 00:00:00+00' - i * interval '1 second' "
        "FROM generate_series(1, " +
        std::to_string(kDomains) + ") i; ANALYZE domains;");
    // A deep page: three quarters down the list, for all domains and for one status.
    std::map<std::string, DomainRepository::PageCursor> deep;
    for (const std::string status : {"", "active"}) {
        const std::string where = status.empty() ? "" : "WHERE status = '" + status + "' ";
        const int offset = (status.empty() ? kDomains : kDomains / 2) * 3 / 4;
        const std::string row = scratch.text(
            "SELECT id || ' ' || (extract(epoch FROM created_at) * 1000000)::bigint FROM domains " +
            where + "ORDER BY created_at DESC, id DESC OFFSET " + std::to_string(offset) +
            " LIMIT 1");
        deep[status] = {row.substr(0, 32), std::stoll(row.substr(33))};
    }

    scratch.database().withSession([&](Poco::Data::Session& session) {
        PGconn* connection = connectionOf(session);
        ExecutedPlans plans(connection);
        execute(connection,
                "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
                "SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off; "
                "SET auto_explain.log_format = json; SET client_min_messages = log");
        DomainRepository domains(session);
        // A deep page's plan as it ran: the rows of domains it read, and how.
        auto deepPage = [&](const std::string& status) {
            plans.take("ORDER BY created_at DESC");
            CHECK(domains.listPage(status, kPageRows, deep[status]).size() == kPageRows);
            const auto executed = plans.take("ORDER BY created_at DESC");
            REQUIRE(executed.size() == 1);
            RowsRead read;
            walk(executed[0]->getObject("Plan"), read);
            return read;
        };
        // What clients do, under PostgreSQL's default plan_cache_mode (auto): a first page, then
        // the next ones, the statement running well past five times on this one connection.
        for (int round = 1; round <= 8; ++round) {
            for (const std::string status : {"", "active"}) {
                CAPTURE(round);
                CAPTURE(status);
                CHECK(domains.listPage(status, kPageRows, std::nullopt).size() == kPageRows);
                const RowsRead read = deepPage(status);
                INFO("scans of domains: " << read.scans);
                // The page's rows and their own view rows: a few hundred, not 150,000.
                CHECK(read.rows <= 4 * kPageRows);
                CHECK(read.cursorInIndex);
                if (round == 6 && status.empty())
                    MESSAGE("6th execution, deep page: " << read.rows << " rows of domains read; "
                                                         << read.scans);
            }
        }
        // The four statements (all or one status, first page or later) are named ones, and the
        // plan cache has switched them to their generic plan: a page is no longer parsed and
        // planned each time.
        const SqlRows statements = runSql(
            session,
            "SELECT generic_plans, custom_plans, statement FROM pg_prepared_statements "
            "WHERE statement LIKE '%ORDER BY created_at DESC, id DESC LIMIT%' "
            "AND statement NOT LIKE '%pg_prepared_statements%' ORDER BY name");
        CHECK(statements.size() == 4);
        for (int row = 0; row < statements.size(); ++row) {
            INFO(statements.text(row, "statement"));
            CHECK(std::stoi(statements.text(row, "generic_plans")) > 0);
        }
        // ...and whatever plan the cache picks, a page walks the index: the generic plans, forced
        // (with the page's size a parameter, the generic plan joined a sequential scan of
        // domains by hashing).
        execute(connection, "SET plan_cache_mode = force_generic_plan");
        for (const std::string status : {"", "active"}) {
            CAPTURE(status);
            const RowsRead read = deepPage(status);
            INFO("generic plan's scans of domains: " << read.scans);
            CHECK(read.rows <= 4 * kPageRows);
            CHECK(read.cursorInIndex);
            MESSAGE("the generic plan of a deep page (status '"
                    << status << "') reads " << read.rows << " rows of domains");
        }
        execute(connection, "RESET plan_cache_mode");
        return true;
    });
}
