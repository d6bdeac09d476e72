#include "support/raw_http.hpp"

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include <algorithm>
#include <stdexcept>

namespace dnsh::test {

HttpResult sendRaw(const std::string& baseUrl, const std::string& method, const std::string& path,
                   const std::string& contentType, const std::string& body) {
    const Poco::URI base(baseUrl);
    std::string request =
        method + " " + path + " HTTP/1.1\r\nHost: " + base.getHost() + "\r\nConnection: close\r\n";
    if (!contentType.empty()) request += "Content-Type: " + contentType + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n" + body;
    return sendRawRequest(baseUrl, request);
}

HttpResult sendRawRequest(const std::string& baseUrl, const std::string& request) {
    const Poco::URI base(baseUrl);
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress(base.getHost(), base.getPort()));
    socket.setReceiveTimeout(Poco::Timespan(30, 0));
    std::size_t sent = 0;
    while (sent < request.size()) {
        try {
            sent += static_cast<std::size_t>(
                socket.sendBytes(request.data() + sent, static_cast<int>(request.size() - sent)));
        } catch (const Poco::Exception&) {
            break;  // the server may answer (413) and close before reading everything
        }
    }
    std::string raw;
    char buffer[8192];
    while (true) {
        int got = 0;
        try {
            got = socket.receiveBytes(buffer, sizeof buffer);
        } catch (const Poco::Exception&) {
            break;
        }
        if (got <= 0) break;
        raw.append(buffer, static_cast<std::size_t>(got));
    }
    HttpResult result;
    const std::size_t headerEnd = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || headerEnd == std::string::npos)
        throw std::runtime_error("no HTTP response (" + std::to_string(raw.size()) + " bytes)");
    result.status = std::stoi(raw.substr(9, 3));
    result.body = raw.substr(headerEnd + 4);
    std::size_t start = raw.find("\r\n") + 2;
    while (start < headerEnd) {
        const std::size_t end = raw.find("\r\n", start);
        const std::string line = raw.substr(start, end - start);
        start = end + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        result.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    return result;
}

}  // namespace dnsh::test
