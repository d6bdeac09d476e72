#pragma once
// The HAProxy half of EdgeSync: tells a running HAProxy, over its runtime API, what EdgeSync's
// files hold, and keeps the books on what it did not take (refused certificates, files it did
// not let go of) and on whether it is behind. EdgeSync writes the files first and calls this
// after; nothing here writes a file.
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "config/edge_config.hpp"
#include "edge/edge_directory.hpp"
#include "edge/haproxy_runtime.hpp"

namespace dnsh {

// What one domain's file holds.
struct EdgeServedFile {
    std::string certificateId;
    std::string serial;
    long long createdMicros = 0;
};

class EdgeHaproxySync {
public:
    // `served`: EdgeSync's files by domain name, read at each call. Without EDGE_HAPROXY_SOCKET
    // every call does nothing (and compare() is in step).
    EdgeHaproxySync(const EdgeSettings& settings, const EdgeDirectory& directory,
                    const std::map<std::string, EdgeServedFile>& served);

    // The changed domains' files installed, the removed ones' taken out; when HAProxy is behind,
    // compare() instead. Unreachable: behind, compared later.
    void update(const std::set<std::string>& changed, const std::set<std::string>& removed);
    // Compares HAProxy's crt-list with `served` and updates it entry by entry. Whether it is now
    // in step (false: still unreachable, behind).
    bool compare();
    // Offers the refused certificates not in `justTried` again once their backoff has passed;
    // whether it tried any.
    bool retryRefused(const std::set<std::string>& justTried);

    // Forgets a refusal: the domain has no certificate to serve any more.
    void forgetRefusal(const std::string& domainName) { refused_.erase(domainName); }
    void forgetRefusalsExcept(const std::set<std::string>& domainNames);

    bool behind() const { return behind_; }
    // Domain name -> the time of the certificate HAProxy refused.
    const std::map<std::string, long long>& refused() const { return refused_; }
    // Cert files HAProxy refused to let go of (counted as failing in the heartbeat).
    std::size_t unremovedCount() const { return unremoved_.size(); }

private:
    // One entry each: whether HAProxy did it. A refusal is logged and counted, and the caller
    // goes on with the other entries; only HaproxyUnreachable stops the whole update.
    bool install(const std::string& domainName, bool isNew);
    bool remove(const std::string& path);
    bool lists(const std::string& path);  // whether HAProxy's crt-list holds the file
    std::string pathOf(const std::string& domainName) const;

    const EdgeSettings& settings_;
    const EdgeDirectory& directory_;
    const std::map<std::string, EdgeServedFile>& served_;
    std::optional<HaproxyRuntime> haproxy_;
    // Domain name -> the time of the certificate HAProxy refused: only an install it takes
    // clears it (a file written again unchanged says nothing about HAProxy).
    std::map<std::string, long long> refused_;
    std::chrono::steady_clock::time_point nextRefusedRetry_{};
    std::chrono::milliseconds refusedBackoff_{0};
    std::set<std::string> listed_;     // cert files in HAProxy's crt-list
    std::set<std::string> unremoved_;  // cert files HAProxy refused to let go of
    bool behind_ = false;
};

}  // namespace dnsh
