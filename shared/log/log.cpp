#include "log/log.hpp"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <sstream>

namespace dnsh {

namespace {

std::atomic<LogLevel> minimumLevel{LogLevel::Info};
std::mutex outputMutex;

std::string_view levelName(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warn:
            return "warn";
        case LogLevel::Error:
            return "error";
    }
    return "info";
}

}  // namespace

std::string errorDetail(const std::exception& error) {
    if (const auto* poco = dynamic_cast<const Poco::Exception*>(&error)) return poco->displayText();
    return error.what();
}

void setLogLevel(LogLevel level) {
    minimumLevel = level;
}

bool logEnabled(LogLevel level) {
    return level >= minimumLevel.load();
}

std::string nowRfc3339() {
    return Poco::DateTimeFormatter::format(Poco::Timestamp(), "%Y-%m-%dT%H:%M:%S.%iZ");
}

namespace {
thread_local std::string currentRequestId;
}  // namespace

LogContext::LogContext(std::string requestId) : previous_(std::move(currentRequestId)) {
    currentRequestId = std::move(requestId);
}

LogContext::~LogContext() {
    currentRequestId = std::move(previous_);
}

void logEvent(LogLevel level, std::string_view message, const LogFields& fields) {
    if (!logEnabled(level)) return;
    Poco::JSON::Object line(Poco::JSON_PRESERVE_KEY_ORDER);
    line.set("ts", nowRfc3339());
    line.set("level", std::string(levelName(level)));
    line.set("msg", std::string(message));
    if (!currentRequestId.empty()) line.set("request_id", currentRequestId);
    for (const auto& [key, value] : fields) line.set(key, value);
    std::ostringstream text;
    line.stringify(text);
    text << '\n';
    const std::lock_guard<std::mutex> lock(outputMutex);
    std::cerr << text.str() << std::flush;
}

}  // namespace dnsh
