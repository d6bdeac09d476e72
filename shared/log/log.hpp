#pragma once
// Structured logs: one JSON object per line on stderr. Never pass keys, PEMs or tokens here.
#include <Poco/Dynamic/Var.h>

#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace dnsh {

using LogFields = std::vector<std::pair<std::string, Poco::Dynamic::Var>>;

void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);

// While one exists on a thread, every line that thread logs carries "request_id": the id of the
// request being served (set by the handlers' serve loop).
class LogContext {
public:
    explicit LogContext(std::string requestId);
    ~LogContext();
    LogContext(const LogContext&) = delete;
    LogContext& operator=(const LogContext&) = delete;

private:
    std::string previous_;
};

// {"ts": ..., "level": ..., "msg": message, "request_id"?, fields...}
void logEvent(LogLevel level, std::string_view message, const LogFields& fields = {});

// What went wrong, for a log line: Poco exceptions' what() is only their class name, so their
// displayText() is used instead.
std::string errorDetail(const std::exception& error);

// RFC 3339 UTC with milliseconds, e.g. 2026-06-25T16:30:00.123Z.
std::string nowRfc3339();

}  // namespace dnsh
