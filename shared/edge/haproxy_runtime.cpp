#include "edge/haproxy_runtime.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace dnsh {

namespace {

bool contains(const std::string& text, const char* needle) {
    return text.find(needle) != std::string::npos;
}

class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    int fd() const { return fd_; }

private:
    int fd_;
};

}  // namespace

std::string normalisedSerial(const std::string& hex) {
    std::string out;
    for (char c : hex)
        if (std::isxdigit(static_cast<unsigned char>(c)))
            out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto first = out.find_first_not_of('0');
    return first == std::string::npos ? "0" : out.substr(first);
}

bool isWholeCliPayload(std::string_view payload) {
    return !payload.empty() && payload.front() != '\n' && payload.back() == '\n' &&
           payload.find("\n\n") == std::string_view::npos &&
           payload.find('\r') == std::string_view::npos;
}

HaproxyRuntime::HaproxyRuntime(std::string socketPath, std::string crtList,
                               std::chrono::milliseconds timeout)
    : socketPath_(std::move(socketPath)), crtList_(std::move(crtList)), timeout_(timeout) {}

std::string HaproxyRuntime::command(const std::string& line) {
    Socket socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (socket.fd() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socketPath_.size() >= sizeof address.sun_path)
        throw std::runtime_error("EDGE_HAPROXY_SOCKET is too long: " + socketPath_);
    std::memcpy(address.sun_path, socketPath_.c_str(), socketPath_.size() + 1);
    if (::connect(socket.fd(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        throw HaproxyUnreachable("HAProxy is not reachable at " + socketPath_ + ": " +
                                 std::strerror(errno));
    const std::string request = line + "\n";
    // For messages: the command without its payload (`set ssl cert`'s holds the key).
    const std::string verb = line.substr(0, line.find('\n'));
    for (std::size_t done = 0; done < request.size();) {
        const ssize_t sent =
            ::send(socket.fd(), request.data() + done, request.size() - done, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0)
            throw HaproxyUnreachable("HAProxy closed its socket: " +
                                     std::string(std::strerror(errno)));
        done += static_cast<std::size_t>(sent);
    }
    std::string answer;
    char buffer[8192];
    for (;;) {
        pollfd readable{socket.fd(), POLLIN, 0};
        const int ready = ::poll(&readable, 1, static_cast<int>(timeout_.count()));
        if (ready == 0) throw HaproxyUnreachable("HAProxy did not answer in time");
        if (ready < 0 && errno == EINTR) continue;
        const ssize_t got = ::recv(socket.fd(), buffer, sizeof buffer, 0);
        if (got < 0 && errno == EINTR) continue;
        // A reset is no end of an answer: taken for one, a cut `show ssl crt-list` lists nothing.
        if (got < 0)
            throw HaproxyUnreachable("HAProxy's answer to `" + verb + "` was cut off: " +
                                     std::strerror(errno));
        if (got == 0) break;  // it closes the connection after the answer
        answer.append(buffer, static_cast<std::size_t>(got));
    }
    // Every answer ends with at least the line end HAProxy adds after it (without `prompt`):
    // nothing at all is a connection closed before any answer (HAProxy stopping, restarting).
    if (answer.empty())
        throw HaproxyUnreachable("HAProxy closed its socket without answering `" + verb + "`");
    return answer;
}

std::map<std::string, std::vector<int>> HaproxyRuntime::entries() {
    const std::string request = "show ssl crt-list -n " + crtList_;
    const std::string answer = command(request);
    std::istringstream lines(answer);
    std::string header;
    std::getline(lines, header);
    // "# <crt-list>" first: an answer without it (an error, or anything cut short) is no list,
    // and read as one it would say the crt-list is empty.
    std::string name = crtList_;
    while (name.size() > 1 && name.back() == '/') name.pop_back();  // as HAProxy names it
    if (header != "# " + name) throw std::runtime_error(request + ": " + answer);
    std::map<std::string, std::vector<int>> files;
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.front() == '#') continue;
        // "<file>:<line>[ [options]][ filters]"
        const std::string entry = line.substr(0, line.find_first_of(" \t["));
        const auto colon = entry.rfind(':');
        if (colon == std::string::npos || colon + 1 == entry.size() ||
            entry.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
            entry.size() - colon > 10)
            throw std::runtime_error(request + ": no line number in \"" + line + "\"");
        files[entry.substr(0, colon)].push_back(std::stoi(entry.substr(colon + 1)));
    }
    return files;
}

std::set<std::string> HaproxyRuntime::listed() {
    std::set<std::string> files;
    for (const auto& entry : entries()) files.insert(entry.first);
    return files;
}

void HaproxyRuntime::removeEntry(const std::string& certFile, int line) {
    std::string entry = certFile;  // appended: GCC 12 misreads `+ std::string&&` (-Wrestrict)
    entry.append(":").append(std::to_string(line));
    const std::string answer = command("del ssl crt-list " + crtList_ + " " + entry);
    // "Entry '<file>' deleted in crtlist '<list>'!"; "cannot be deleted" is a refusal.
    if (!contains(answer, "deleted in crtlist"))
        throw std::runtime_error("del ssl crt-list " + entry + ": " + answer);
}

std::optional<std::string> HaproxyRuntime::serialOf(const std::string& certFile) {
    const std::string answer = command("show ssl cert " + certFile);
    std::istringstream lines(answer);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("Serial:", 0) == 0) return normalisedSerial(line.substr(7));
    return std::nullopt;
}

std::string HaproxyRuntime::stage(const std::string& certFile, const std::string& request) {
    command("abort ssl cert " + certFile);  // ours, left open by a run that stopped midway
    std::string staged = command(request);
    // "Transaction updated for certificate <other>!": another file's transaction was open and
    // took our payload. Abort that one (it holds our certificate now, not its own) and again.
    const std::string marker = "Transaction updated for certificate ";
    if (const auto at = staged.find(marker);
        at != std::string::npos &&
        !contains(staged, ("for certificate " + certFile + "!").c_str())) {
        const std::size_t start = at + marker.size();
        command("abort ssl cert " + staged.substr(start, staged.find("!\n", start) - start));
        staged = command(request);
    }
    return staged;
}

void HaproxyRuntime::install(const std::string& certFile, const std::string& pem,
                             const std::string& serial, bool isNew) {
    const std::string set = "set ssl cert " + certFile + " <<\n" + pem + "\n";
    // Requests of tune.bufsize (16 KiB) or more get an empty answer, and crashed HAProxy 2.6.12
    // when tried here.
    if (set.size() >= 15'000)
        throw std::runtime_error("the certificate file of " + certFile + " is " +
                                 std::to_string(pem.size()) +
                                 " bytes, too large for HAProxy's runtime API (16 KiB buffer)");
    // Checked before anything is sent: the lines after an empty one (the key's) would otherwise
    // reach HAProxy as commands. The message names no content: the file holds the key.
    if (!isWholeCliPayload(pem))
        throw std::runtime_error("the certificate file of " + certFile +
                                 " is not one `set ssl cert` payload (an empty line or a CR, or "
                                 "no final line end)");
    bool existed = false;
    if (isNew) {
        const std::string answer = command("new ssl cert " + certFile);
        // Already known (an earlier run stopped between its commands): go on with `set`.
        existed = contains(answer, "already exists");
        if (!contains(answer, "New empty certificate store") && !existed)
            throw std::runtime_error("new ssl cert " + certFile + ": " + answer);
    }
    // The payload ends at the empty line after it (checked above: it has none of its own). The
    // answer must name this file.
    const std::string staged = stage(certFile, set);
    if (!contains(staged, ("for certificate " + certFile + "!").c_str())) {
        command("abort ssl cert " + certFile);
        throw std::runtime_error("set ssl cert " + certFile + ": " + staged);
    }
    const std::string committed = command("commit ssl cert " + certFile);
    if (!contains(committed, "Success!")) {
        command("abort ssl cert " + certFile);  // a failed commit leaves the transaction open
        throw std::runtime_error("commit ssl cert " + certFile + ": " + committed);
    }
    const auto loaded = serialOf(certFile);
    if (loaded != normalisedSerial(serial))
        throw std::runtime_error("HAProxy holds serial " + loaded.value_or("none") + " for " +
                                 certFile + " after the update, not " + serial);
    // `add` twice makes two entries (refused for a directory only): the caller says whether the
    // list has it (listed()), and a store that already existed is looked up again, since the
    // caller may have been wrong. Last, so a new file whose install throws is not in the
    // crt-list (EdgeSync counts on it).
    if (isNew && !(existed && listed().count(certFile))) {
        const std::string answer = command("add ssl crt-list " + crtList_ + " " + certFile);
        if (!contains(answer, "Success!"))
            throw std::runtime_error("add ssl crt-list " + certFile + ": " + answer);
    }
}

void HaproxyRuntime::remove(const std::string& certFile) {
    const std::string unlisted = command("del ssl crt-list " + crtList_ + " " + certFile);
    if (!contains(unlisted, "deleted") && !contains(unlisted, "can't be found"))
        throw std::runtime_error("del ssl crt-list " + certFile + ": " + unlisted);
    command("abort ssl cert " + certFile);  // one with a transaction open cannot be deleted
    const std::string freed = command("del ssl cert " + certFile);
    if (!contains(freed, "deleted!") && !contains(freed, "doesn't exist"))
        throw std::runtime_error("del ssl cert " + certFile + ": " + freed);
}

}  // namespace dnsh
