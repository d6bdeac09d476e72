#pragma once
// HAProxy's runtime API on its stats socket (`stats socket <path> level admin`), for the
// certificates of one crt-list: replaced, added and removed in the running process, with no
// reload (HAProxy 2.6 management guide, "set ssl cert", "new ssl cert", "add ssl crt-list",
// "del ssl crt-list", "del ssl cert"). The runtime API changes memory only: the edge agent writes
// the same files first, so a restarted HAProxy loads the same set.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dnsh {

// HAProxy could not be asked at all (socket missing, connection refused, no answer or one cut
// off by a reset): nothing about one certificate, the whole update waits for it.
class HaproxyUnreachable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class HaproxyRuntime {
public:
    // `socketPath`: EDGE_HAPROXY_SOCKET. `crtList`: the crt-list file as the bind line names it.
    HaproxyRuntime(std::string socketPath, std::string crtList,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Each throws HaproxyUnreachable, or std::runtime_error with HAProxy's answer.

    // The certificate files the crt-list holds now.
    std::set<std::string> listed();
    // The same with each file's entries: the line numbers of `show ssl crt-list -n`, one per
    // entry (a file listed twice has two).
    std::map<std::string, std::vector<int>> entries();
    // Takes the crt-list entry of `certFile` at `line` (entries()) out, leaving the file loaded
    // and its other entries: `del ssl crt-list` without a line refuses a file listed twice.
    void removeEntry(const std::string& certFile, int line);
    // The serial of a loaded certificate (upper-case hex, as `show ssl cert` prints it), or none
    // when HAProxy has no certificate of that name.
    std::optional<std::string> serialOf(const std::string& certFile);
    // Puts `pem` (leaf, chain, key) in place of what `certFile` holds, checks that HAProxy then
    // holds the certificate of `serial`, and adds it to the crt-list when `isNew` (the crt-list
    // does not hold it: listed()). A new file whose install throws is not in the crt-list.
    void install(const std::string& certFile, const std::string& pem, const std::string& serial,
                 bool isNew);
    // Takes `certFile` out of the crt-list and frees it.
    void remove(const std::string& certFile);
    // One command, one connection (the socket closes after each answer without `prompt`).
    std::string command(const std::string& line);

private:
    // `set ssl cert` of `request`, after aborting a transaction an earlier run left open:
    // HAProxy 2.6.12 (Debian 12) files a `set` for one certificate into another's open
    // transaction instead of refusing it. Returns HAProxy's answer.
    std::string stage(const std::string& certFile, const std::string& request);

    std::string socketPath_;
    std::string crtList_;
    std::chrono::milliseconds timeout_;
};

// "ABCDEF..." -> upper case without leading zeros, so HAProxy's and OpenSSL's spellings compare.
std::string normalisedSerial(const std::string& hex);

// Whether `payload` reaches HAProxy whole after `<<`: it ends at the first empty line (management
// guide §9.3, "set ssl cert"), and the lines after one would be read as commands. So: not empty,
// no empty line, ending with a line end, and no CR (the agent writes LF-only PEM: a CR means a
// file not made so, and a line of a lone CR may count as empty).
bool isWholeCliPayload(std::string_view payload);

}  // namespace dnsh
