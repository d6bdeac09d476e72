#include "db/server_notices.hpp"

#include <string>

#include "core/shown_text.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

// A notice may quote a statement's values: bounded, as any text from outside.
constexpr std::size_t kMostNoticeBytes = 500;

std::string field(const PGresult* notice, int code) {
    const char* value = PQresultErrorField(notice, code);
    return value ? shownText(value, kMostNoticeBytes) : std::string();
}

void logNotice(void*, const PGresult* notice) {
    logEvent(LogLevel::Warn, "database notice",
             {{"severity", field(notice, PG_DIAG_SEVERITY_NONLOCALIZED)},
              {"sqlstate", field(notice, PG_DIAG_SQLSTATE)},
              {"detail", field(notice, PG_DIAG_MESSAGE_PRIMARY)},
              {"server_detail", field(notice, PG_DIAG_MESSAGE_DETAIL)}});
}

}  // namespace

void logServerNotices(PGconn* connection) {
    if (connection != nullptr) PQsetNoticeReceiver(connection, &logNotice, nullptr);
}

}  // namespace dnsh
