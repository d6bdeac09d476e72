#include "support/webhook_receiver.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/random.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/test_env.hpp"

extern char** environ;

namespace dnsh::test {

namespace {

const std::string kScript = DNSH_SOURCE_DIR "/tests/node/webhook_receiver.mjs";

}  // namespace

std::string newWebhookSecret() {
    const std::string hex = randomHex(32);
    std::string bytes;
    for (std::size_t i = 0; i < hex.size(); i += 2)
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder << bytes;
    encoder.close();
    return "whsec_" + out.str();
}

WebhookReceiver::WebhookReceiver(std::string secret, ReceiverScheme scheme)
    : secret_(std::move(secret)), scheme_(scheme) {
    const char* logDir = std::getenv("DNSH_TEST_LOG_DIR");
    dir_ = std::string(logDir ? logDir : "/tmp") + "/webhook-receiver-" + randomHex(4);
    std::filesystem::create_directories(dir_);
    start();
}

WebhookReceiver::~WebhookReceiver() {
    stop();
}

std::string WebhookReceiver::url() const {
    const bool tls = scheme_ == ReceiverScheme::Https;
    return (tls ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port_) +
           "/hooks";
}

void WebhookReceiver::start() {
    REQUIRE(pid_ < 0);
    const std::string ready = dir_ + "/port";
    std::filesystem::remove(ready);
    std::vector<std::string> entries;
    for (char** entry = environ; *entry != nullptr; ++entry)
        if (std::string(*entry).rfind("WEBHOOK_SECRET=", 0) != 0) entries.emplace_back(*entry);
    entries.push_back("WEBHOOK_SECRET=" + secret_);
    std::vector<char*> envp;
    for (auto& entry : entries) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::vector<std::string> arguments{
        "node",    kScript, "--port", std::to_string(port_), "--record", dir_ + "/received.jsonl",
        "--ready", ready};
    if (scheme_ == ReceiverScheme::Https) {
        const std::filesystem::path cert = requireEnv("ACME_CA_BUNDLE");
        for (const std::string& argument :
             {std::string("--tls-cert"), cert.string(), std::string("--tls-key"),
              (cert.parent_path() / "key.pem").string()})
            arguments.push_back(argument);
    }
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    const std::string log = dir_ + "/receiver.log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int rc = posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "posix_spawnp node: " << rc);
    const bool up = waitFor(
        std::chrono::seconds(15), [&] { return !readFile(ready).empty(); },
        std::chrono::milliseconds(50));
    REQUIRE_MESSAGE(up, "webhook receiver did not start: " << readFile(log));
    port_ = std::stoi(readFile(ready));
}

void WebhookReceiver::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void WebhookReceiver::answer(int status, int delayMs, const std::string& domainId) {
    setMode(status, delayMs, 0, TricklePart::Body, domainId);
}

void WebhookReceiver::trickle(TricklePart part, int status, int byteEveryMs,
                              const std::string& domainId) {
    setMode(status, 0, byteEveryMs, part, domainId);
}

void WebhookReceiver::setMode(int status, int delayMs, int trickleMs, TricklePart part,
                              const std::string& domainId) {
    REQUIRE_MESSAGE(scheme_ == ReceiverScheme::Http, "an https receiver only answers 204");
    Poco::JSON::Object mode;
    mode.set("status", status);
    mode.set("delay_ms", delayMs);
    mode.set("trickle_ms", trickleMs);
    mode.set("trickle", part == TricklePart::Headers ? "headers" : "body");
    if (!domainId.empty()) mode.set("domain_id", domainId);
    std::ostringstream body;
    mode.stringify(body);
    const auto result =
        sendToService("http://127.0.0.1:" + std::to_string(port_),
             HttpRequest{"POST", "/control/mode", body.str(), "application/json", {}});
    REQUIRE_MESSAGE(result.status == 200, "receiver mode: " << result.body);
}

std::vector<ReceivedEvent> WebhookReceiver::received() const {
    std::vector<ReceivedEvent> events;
    std::ifstream in(dir_ + "/received.jsonl");
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        const auto entry = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
        ReceivedEvent event;
        event.seq = entry->getValue<int>("seq");
        event.webhookId = entry->optValue<std::string>("webhook_id", "");
        event.verified = entry->getValue<bool>("verified");
        event.error = entry->optValue<std::string>("error", "");
        event.type = entry->optValue<std::string>("type", "");
        event.domainId = entry->optValue<std::string>("domain_id", "");
        event.answered = entry->getValue<int>("answered");
        event.body = entry->optValue<std::string>("body", "");
        event.authorization = entry->optValue<std::string>("authorization", "");
        event.startedMs = entry->optValue<Poco::Int64>("started_ms", 0);
        event.endedMs = entry->optValue<Poco::Int64>("ended_ms", 0);
        event.cut = entry->optValue<bool>("cut", false);
        events.push_back(std::move(event));
    }
    // seq restarts with the process: the file's order is the arrival order.
    for (std::size_t i = 0; i < events.size(); ++i) events[i].seq = static_cast<int>(i) + 1;
    return events;
}

std::vector<ReceivedEvent> WebhookReceiver::receivedFor(const std::string& domainId) const {
    std::vector<ReceivedEvent> events;
    for (auto& event : received())
        if (event.domainId == domainId) events.push_back(event);
    return events;
}

std::vector<std::string> deliveredTypes(const std::vector<ReceivedEvent>& events) {
    std::vector<std::string> types;
    for (const auto& event : events)
        if (event.delivered()) types.push_back(event.type);
    return types;
}

bool waitDelivered(const WebhookReceiver& receiver, const std::string& domainId, std::size_t count,
                   std::chrono::milliseconds timeout) {
    return waitFor(timeout,
                   [&] { return deliveredTypes(receiver.receivedFor(domainId)).size() >= count; });
}

}  // namespace dnsh::test
