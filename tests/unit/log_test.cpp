// The JSON log lines (README "Operating it", logs): one valid JSON object per line, whatever bytes
// a field holds, with the request id of the LogContext.
#include "log/log.hpp"
#include "support/captured_stderr.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace dnsh;
using namespace dnsh::test;

namespace {

std::vector<Poco::JSON::Object::Ptr> parsedLines(const std::string& text) {
    std::vector<Poco::JSON::Object::Ptr> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>());
    return lines;
}

}  // namespace

TEST_CASE("logEvent: one JSON object per line, every field typed, hostile bytes escaped") {
    setLogLevel(LogLevel::Info);
    const std::string hostile = std::string("/x\"y\\z\n\x01\xff\xc3\xa9", 11);
    const std::string text = capturedStderr([&] {
        const LogContext context("req-1");
        logEvent(LogLevel::Info, "request",
                 {{"path", hostile},
                  {"status", 404},
                  {"duration_ms", 1.5},
                  {"cached", true},
                  {"nothing", Poco::Dynamic::Var()}});
        logEvent(LogLevel::Debug, "hidden at info");
    });
    CHECK(text.find('\n') == text.size() - 1);  // exactly one line; the debug one is not written
    const auto lines = parsedLines(text);
    REQUIRE(lines.size() == 1);
    const auto& line = lines.front();
    CHECK(std::regex_match(line->getValue<std::string>("ts"),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
    CHECK(line->getValue<std::string>("level") == "info");
    CHECK(line->getValue<std::string>("msg") == "request");
    CHECK(line->getValue<std::string>("request_id") == "req-1");
    // Valid UTF-8 comes back as it was; a byte that is not UTF-8 becomes a \u escape.
    const std::string path = line->getValue<std::string>("path");
    CHECK(path.substr(0, 8) == std::string("/x\"y\\z\n\x01", 8));
    CHECK(path.find("\xc3\xa9") != std::string::npos);
    CHECK(line->get("status").isInteger());
    CHECK(line->getValue<int>("status") == 404);
    CHECK(line->getValue<double>("duration_ms") == doctest::Approx(1.5));
    CHECK(line->getValue<bool>("cached"));
    CHECK(line->isNull("nothing"));
}

TEST_CASE("logEvent: numbers of every width as JSON numbers, not-a-number and infinities as null") {
    setLogLevel(LogLevel::Info);
    const auto lines = parsedLines(capturedStderr([] {
        logEvent(LogLevel::Info, "numbers",
                 {{"int", -7},
                  {"long", 1234567890123L},
                  {"long_long", -4503599627370497LL},
                  {"unsigned", 4000000000U},
                  {"size", std::size_t{18446744073709551615ULL}},
                  {"ms", 0.253},
                  {"tiny", 1e-7},
                  {"float", 2.5F},
                  {"nan", std::nan("")},
                  {"inf", HUGE_VAL},
                  {"minus_inf", -HUGE_VAL}});
    }));
    REQUIRE(lines.size() == 1);
    const auto& line = lines.front();
    CHECK(line->getValue<int>("int") == -7);
    CHECK(line->getValue<long long>("long") == 1234567890123LL);
    CHECK(line->getValue<long long>("long_long") == -4503599627370497LL);
    CHECK(line->getValue<unsigned long long>("unsigned") == 4000000000ULL);
    CHECK(line->getValue<unsigned long long>("size") == 18446744073709551615ULL);
    // Doubles read back exactly (the shortest text that does, RFC 8259 §6 syntax).
    CHECK(line->getValue<double>("ms") == 0.253);
    CHECK(line->getValue<double>("tiny") == 1e-7);
    CHECK(line->getValue<double>("float") == 2.5);
    // RFC 8259 §6: "Numeric values that cannot be represented ... (such as Infinity and NaN) are
    // not permitted": the line stays JSON, the value is null.
    CHECK(line->isNull("nan"));
    CHECK(line->isNull("inf"));
    CHECK(line->isNull("minus_inf"));
}

TEST_CASE("logEvent: no request id outside a request, the context's id only while it lives") {
    setLogLevel(LogLevel::Info);
    const auto lines = parsedLines(capturedStderr([] {
        logEvent(LogLevel::Warn, "before");
        {
            const LogContext context("req-2");
            logEvent(LogLevel::Error, "during");
        }
        logEvent(LogLevel::Info, "after");
    }));
    REQUIRE(lines.size() == 3);
    CHECK_FALSE(lines[0]->has("request_id"));
    CHECK(lines[1]->getValue<std::string>("request_id") == "req-2");
    CHECK(lines[1]->getValue<std::string>("level") == "error");
    CHECK_FALSE(lines[2]->has("request_id"));
}

TEST_CASE("LogBatch: lines wait for flushLog, an error line takes them along in order") {
    setLogLevel(LogLevel::Info);
    const std::string all = capturedStderr([] {
        const LogBatch batch;
        logEvent(LogLevel::Info, "first");
        logEvent(LogLevel::Warn, "second");
        flushLog();
        logEvent(LogLevel::Info, "third");
        logEvent(LogLevel::Error, "fourth");
        logEvent(LogLevel::Info, "fifth");  // written when the batch ends
    });
    const auto lines = parsedLines(all);
    REQUIRE(lines.size() == 5);
    const std::vector<std::string> expected{"first", "second", "third", "fourth", "fifth"};
    for (std::size_t i = 0; i < lines.size(); ++i)
        CHECK(lines[i]->getValue<std::string>("msg") == expected[i]);
}

TEST_CASE("LogBatch: nothing is written before flushLog, everything after it") {
    setLogLevel(LogLevel::Info);
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file), STDERR_FILENO);
    long sizeWhileBatched = -1;
    long sizeAfterFlush = -1;
    {
        const LogBatch batch;
        logEvent(LogLevel::Info, "held");
        std::fseek(file, 0, SEEK_END);
        sizeWhileBatched = std::ftell(file);
        flushLog();
        std::fseek(file, 0, SEEK_END);
        sizeAfterFlush = std::ftell(file);
    }
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::fclose(file);
    CHECK(sizeWhileBatched == 0);
    CHECK(sizeAfterFlush > 0);
}
