#include "db/server_notices.hpp"

#include <string_view>

#include "core/shown_text.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

// A notice may quote a statement's values: bounded, as any text from outside.
constexpr std::size_t kMostNoticeBytes = 500;

// libpq's text of the notice ("WARNING:  canceling wait ...\nDETAIL:  ..."), its lines kept as
// escapes. A processor, not a receiver: whoever sets a processor of their own on the connection
// (the plan tests read auto_explain's notices) gets them instead, and gives ours back.
void logNotice(void*, const char* message) {
    std::string_view text(message);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    logEvent(LogLevel::Warn, "database notice", {{"detail", shownText(text, kMostNoticeBytes)}});
}

}  // namespace

void logServerNotices(PGconn* connection) {
    if (connection != nullptr) PQsetNoticeProcessor(connection, &logNotice, nullptr);
}

}  // namespace dnsh
