#include "log/log.hpp"

#include <Poco/Exception.h>
#include <Poco/UTF8String.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <ctime>
#include <mutex>
#include <type_traits>
#include <typeinfo>

#include "core/json_text.hpp"

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

namespace {

// The current time as RFC 3339 UTC with milliseconds, appended to `text`. Called for every log
// line: gmtime_r and strftime once per second, the milliseconds written by hand (no formatter).
void appendNowRfc3339(std::string& text) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    thread_local time_t cachedSecond = -1;
    thread_local char secondText[32];
    thread_local std::size_t secondLength = 0;
    if (now.tv_sec != cachedSecond) {
        tm utc{};
        gmtime_r(&now.tv_sec, &utc);
        secondLength = std::strftime(secondText, sizeof secondText, "%Y-%m-%dT%H:%M:%S", &utc);
        cachedSecond = now.tv_sec;
    }
    const auto millis = static_cast<int>(now.tv_nsec / 1000000);
    const char fraction[] = {'.', static_cast<char>('0' + millis / 100),
                             static_cast<char>('0' + millis / 10 % 10),
                             static_cast<char>('0' + millis % 10), 'Z'};
    text.append(secondText, secondLength);
    text.append(fraction, sizeof fraction);
}

}  // namespace

std::string nowRfc3339() {
    std::string text;
    appendNowRfc3339(text);
    return text;
}

namespace {

thread_local std::string currentRequestId;
thread_local bool batching = false;
thread_local std::string batched;
constexpr std::size_t kBatchBytes = 4096;

// All of `text` to stderr; a log that cannot be written must not stop the request.
void writeOut(const std::string& text) {
    const std::lock_guard<std::mutex> lock(outputMutex);
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(STDERR_FILENO, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        written += static_cast<std::size_t>(n);
    }
}

}  // namespace

LogBatch::LogBatch() {
    batching = true;
}

LogBatch::~LogBatch() {
    flushLog();
    batching = false;
}

void flushLog() {
    if (batched.empty()) return;
    writeOut(batched);
    batched.clear();
}

LogContext::LogContext(std::string requestId) : previous_(std::move(currentRequestId)) {
    currentRequestId = std::move(requestId);
}

LogContext::~LogContext() {
    currentRequestId = std::move(previous_);
}

namespace {

void appendJsonString(std::string& line, std::string_view value) {
    line += '"';
    // Messages, ids, paths and statuses are plain: copied without the copy Poco's escaper returns.
    if (isPlainJsonString(value))
        line += value;
    else
        line += Poco::UTF8::escape(std::string(value), true);  // RFC 8259 §7, non-ASCII as \uXXXX
    line += '"';
}

// The number types log fields hold, written by std::to_chars: no string made per field (Poco's
// conversion of a double was a third of a request line's cost), and for a double the shortest
// text that reads back as the same value. JSON has no NaN or infinity (RFC 8259 §6): null.
template <typename Number>
bool appendNumberOf(std::string& line, const Poco::Dynamic::Var& value) {
    if (value.type() != typeid(Number)) return false;
    const Number number = value.extract<Number>();
    if constexpr (std::is_floating_point_v<Number>) {
        if (!std::isfinite(number)) {
            line += "null";
            return true;
        }
    }
    char text[32];
    const auto written = std::to_chars(text, text + sizeof text, number);
    line.append(text, written.ptr);
    return true;
}

void appendNumber(std::string& line, const Poco::Dynamic::Var& value) {
    if (appendNumberOf<int>(line, value) || appendNumberOf<double>(line, value) ||
        appendNumberOf<long>(line, value) || appendNumberOf<long long>(line, value) ||
        appendNumberOf<unsigned>(line, value) || appendNumberOf<unsigned long>(line, value) ||
        appendNumberOf<unsigned long long>(line, value) || appendNumberOf<float>(line, value))
        return;
    line += value.convert<std::string>();  // the narrow integer types
}

void appendJsonValue(std::string& line, const Poco::Dynamic::Var& value) {
    if (value.isEmpty()) {
        line += "null";
    } else if (value.isBoolean()) {
        line += value.extract<bool>() ? "true" : "false";
    } else if (value.isNumeric()) {
        appendNumber(line, value);
    } else {
        appendJsonString(line, value.convert<std::string>());
    }
}

}  // namespace

void logEvent(LogLevel level, std::string_view message, const LogFields& fields) {
    if (!logEnabled(level)) return;
    // One line per request at info: written straight into one string, without a JSON object
    // tree or a stream (they cost more than the request's own work).
    std::string line;
    line.reserve(256);
    line += "{\"ts\":\"";
    appendNowRfc3339(line);
    line += "\",\"level\":\"";
    line += levelName(level);
    line += "\",\"msg\":";
    appendJsonString(line, message);
    if (!currentRequestId.empty()) {
        line += ",\"request_id\":";
        appendJsonString(line, currentRequestId);
    }
    for (const auto& [key, value] : fields) {
        line += ',';
        appendJsonString(line, key);
        line += ':';
        appendJsonValue(line, value);
    }
    line += "}\n";
    if (batching && level < LogLevel::Error) {
        batched += line;
        if (batched.size() >= kBatchBytes) flushLog();
        return;
    }
    if (!batched.empty()) {
        batched += line;
        flushLog();
        return;
    }
    writeOut(line);
}

}  // namespace dnsh
