#pragma once
// Keeps EDGE_DIR and a running HAProxy in step with the newest certificate of every live domain
// (README, "Certificates on the TLS terminators"). Files first, then HAProxy's runtime API, so
// the files always hold what HAProxy was told and a restarted HAProxy loads the same set.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/edge_config.hpp"
#include "crypto/key_encryption.hpp"
#include "edge/edge_directory.hpp"
#include "edge/edge_source.hpp"
#include "edge/haproxy_runtime.hpp"

namespace dnsh {

struct EdgeRound {
    int written = 0;  // domains whose files changed
    int removed = 0;  // domains whose files went
    int failed = 0;   // domains skipped (a key that does not open, a file refused or not written)
};

class EdgeSync {
public:
    EdgeSync(const EdgeSettings& settings, EdgeDirectory& directory, const KeyEncryptor& keys);

    // Everything: the certificates are the whole desired set (files of other domains removed,
    // HAProxy's crt-list compared entry by entry). `asOfMicros`: when they were read.
    EdgeRound reconcile(const std::vector<EdgeCertificate>& certificates, long long asOfMicros);
    // The named domains only: those without a certificate among `certificates` are removed.
    EdgeRound apply(const std::set<std::string>& domainNames,
                    const std::vector<EdgeCertificate>& certificates, long long asOfMicros);
    // After HAProxy failed (down, restarting): compares and updates it entry by entry. Whether
    // it is now in step (false: still unreachable; retried later); then every certificate read
    // as of `asOfMicros` counts as applied.
    bool resyncHaproxy(long long asOfMicros);
    bool haproxyBehind() const { return haproxyBehind_; }
    // Certificates HAProxy refused and has not taken since (counted as failing).
    std::size_t haproxyRefusals() const { return haproxyRefused_.size(); }
    // Offers them to HAProxy again: one poll interval after the first refusal, then less and
    // less often while it still refuses (the rounds do it too). Their file is unchanged, so
    // nothing else would before the next full reconcile.
    void retryHaproxyRefusals();

    // When the due reload may run (EDGE_RELOAD_MIN_INTERVAL after the last one ended, longer
    // after failures); none while none is due or there is no EDGE_RELOAD_COMMAND.
    std::optional<std::chrono::steady_clock::time_point> reloadAt() const;
    // Runs EDGE_RELOAD_COMMAND once that time has come (the rounds call it too).
    void reloadIfDue();

    EdgeHeartbeat heartbeat(const std::string& agent) const;

private:
    struct Served {
        std::string certificateId;
        std::string serial;
        long long createdMicros = 0;
    };
    // Claims and writes the certificates' files; the domains whose file changed.
    std::set<std::string> writeDomains(const std::vector<EdgeCertificate>& certificates,
                                       EdgeRound& round);
    bool writeDomain(const EdgeCertificate& certificate);  // whether its file changed
    void keepServingOlderFile(const EdgeCertificate& notApplied);
    void writeSharedFiles();
    bool compareHaproxy();  // resyncHaproxy() without the round
    void updateHaproxy(const std::set<std::string>& changed, const std::set<std::string>& removed);
    // One entry each: whether HAProxy did it. A refusal is logged and counted, and the caller
    // goes on with the other entries; only HaproxyUnreachable stops the whole update.
    bool installInHaproxy(const std::string& domainName, bool isNew);
    bool removeFromHaproxy(const std::string& path);
    bool haproxyLists(const std::string& path);  // whether HAProxy's crt-list holds the file
    bool runReloadCommand();  // whether it exited 0 within EDGE_RELOAD_TIMEOUT
    bool retryRefused(const std::set<std::string>& justTried);  // whether it tried any
    void finishRound(long long asOfMicros, const EdgeRound& round);
    std::string haproxyPath(const std::string& domainName) const;

    const EdgeSettings& settings_;
    EdgeDirectory& directory_;
    const KeyEncryptor& keys_;
    std::optional<HaproxyRuntime> haproxy_;
    std::map<std::string, Served> served_;      // by domain name: what the files hold
    std::map<std::string, long long> failing_;  // domain name -> its certificate's time
    // Domain name -> the time of the certificate HAProxy refused: only an install it takes
    // clears it (a file written again unchanged says nothing about HAProxy).
    std::map<std::string, long long> haproxyRefused_;
    std::chrono::steady_clock::time_point nextRefusedRetry_{};
    std::chrono::milliseconds refusedBackoff_{0};
    std::set<std::string> haproxyListed_;       // cert files in HAProxy's crt-list
    std::set<std::string> haproxyUnremoved_;    // cert files HAProxy refused to let go of
                                                // (counted as failing in the heartbeat)
    bool haproxyBehind_ = false;
    std::chrono::steady_clock::time_point nextReload_{};  // EDGE_RELOAD_MIN_INTERVAL apart
    int reloadFailures_ = 0;                               // in a row
    std::optional<long long> appliedThrough_;
    long long lastAsOf_ = 0;  // the last round's time: what a retry that succeeds applies up to
    std::string appliedCertificateId_;
    long long newestApplied_ = 0;
};

}  // namespace dnsh
