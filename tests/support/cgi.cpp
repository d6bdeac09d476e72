#include "support/cgi.hpp"

#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "support/test_env.hpp"

namespace dnsh::test {

HttpResult runCgi(const std::string& handler, const CgiRequest& request) {
    Poco::Process::Env env{
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"REQUEST_METHOD", request.method},
        {"PATH_INFO", request.path},
        {"REQUEST_URI", request.path},
        {"DATABASE_URL", databaseUrl()},
        {"DNS_TIMEOUT", "2s"},
        {"LOG_LEVEL", "warn"},
    };
    if (const char* resolver = std::getenv("DNS_RESOLVER")) env["DNS_RESOLVER"] = resolver;
    if (!request.contentType.empty()) env["CONTENT_TYPE"] = request.contentType;
    if (!request.body.empty() || request.method == "POST")
        env["CONTENT_LENGTH"] = std::to_string(request.body.size());
    for (const auto& [name, value] : request.env) env[name] = value;

    Poco::Pipe input, output;
    Poco::ProcessHandle process =
        Poco::Process::launch(handlerPath(handler), {}, ".", &input, &output, nullptr, env);
    {
        Poco::PipeOutputStream to(input);
        to << request.body;
    }
    input.close(Poco::Pipe::CLOSE_WRITE);
    std::string raw;
    Poco::PipeInputStream from(output);
    Poco::StreamCopier::copyToString(from, raw);
    const int exitCode = process.wait();
    if (exitCode != 0)
        throw std::runtime_error(handler + " exited with " + std::to_string(exitCode));

    HttpResult result;
    const std::size_t split = raw.find("\r\n\r\n");
    if (split == std::string::npos) throw std::runtime_error("no CGI header block: " + raw);
    result.body = raw.substr(split + 4);
    std::size_t start = 0;
    while (start < split) {
        const std::size_t end = raw.find("\r\n", start);
        const std::string line = raw.substr(start, std::min(end, split) - start);
        start = std::min(end, split) + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        result.headers[name] = value;
    }
    result.status = std::stoi(result.header("status").substr(0, 3));
    return result;
}

}  // namespace dnsh::test
