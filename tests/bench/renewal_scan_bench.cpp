// Times the scheduler's due-work queries exactly as the scheduler runs them (OrderStore), each in
// a transaction that is rolled back so every round sees the same data. Used by
// tests/bench/renewal_scan; prints one line of figures per query.
//   renewal_scan_bench ROUNDS     (DATABASE_URL names the populated database)
#include <Poco/Data/Session.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "db/database.hpp"
#include "issuance/order_store.hpp"

namespace {

void timeQuery(dnsh::Database& database, const char* label, int rounds,
               const std::function<long(dnsh::OrderStore&)>& query) {
    std::vector<double> millis;
    long rows = 0;
    for (int i = 0; i < rounds; ++i) {
        database.withSession([&](Poco::Data::Session& session) {
            dnsh::OrderStore store(session);
            session.begin();
            const auto started = std::chrono::steady_clock::now();
            rows = query(store);
            millis.push_back(std::chrono::duration<double, std::milli>(
                                 std::chrono::steady_clock::now() - started)
                                 .count());
            session.rollback();
            return true;
        });
    }
    std::sort(millis.begin(), millis.end());
    std::printf("  %-28s rows %4ld   median %7.3f ms   p95 %7.3f ms   max %7.3f ms\n", label, rows,
                millis[millis.size() / 2], millis[millis.size() * 95 / 100], millis.back());
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 50;
    const char* url = std::getenv("DATABASE_URL");
    if (url == nullptr || rounds < 1) {
        std::fprintf(stderr, "usage: DATABASE_URL=... renewal_scan_bench ROUNDS\n");
        return 2;
    }
    dnsh::Database database(url);
    timeQuery(database, "scheduleRenewals(100)", rounds,
              [](dnsh::OrderStore& store) { return store.scheduleRenewals(100); });
    timeQuery(database, "claimDue", rounds,
              [](dnsh::OrderStore& store) { return store.claimDue("bench", 60000) ? 1L : 0L; });
    return 0;
}
