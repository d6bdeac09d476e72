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

// While one exists on a thread, the lines that thread logs below error are collected and written
// together, by flushLog() or once 4 KiB are waiting: a FastCGI process with requests queued then
// makes one write(2) per batch instead of one per request. The serve loop flushes whenever no
// request is waiting, so a line is in the log before the process sits idle. Error lines, and
// every other thread's lines, are written at once (after the ones collected before them).
class LogBatch {
public:
    LogBatch();
    ~LogBatch();
    LogBatch(const LogBatch&) = delete;
    LogBatch& operator=(const LogBatch&) = delete;
};

// Writes what this thread's LogBatch has collected.
void flushLog();

// {"ts": ..., "level": ..., "msg": message, "request_id"?, fields...}
void logEvent(LogLevel level, std::string_view message, const LogFields& fields = {});

// What went wrong, for a log line: Poco exceptions' what() is only their class name, so their
// displayText() is used instead.
std::string errorDetail(const std::exception& error);

// RFC 3339 UTC with milliseconds, e.g. 2026-06-25T16:30:00.123Z.
std::string nowRfc3339();

}  // namespace dnsh
