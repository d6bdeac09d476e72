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
#include "edge/edge_haproxy_sync.hpp"
#include "edge/edge_reloader.hpp"
#include "edge/edge_source.hpp"

namespace dnsh {

struct EdgeRound {
    int written = 0;  // domains whose files changed
    int removed = 0;  // domains whose files went
    int failed = 0;   // domains skipped (a key that does not open, a file refused or not written)
};

class EdgeSync {
public:
    EdgeSync(const EdgeSettings& settings, EdgeDirectory& directory, const KeyEncryptor& keys);

    // Everything: every certificate `source` holds is the desired set (files of other domains
    // removed, HAProxy's crt-list compared entry by entry), read and written a page at a time
    // (memory: the names, not the PEMs). `asOfMicros`: the database's time before the first page.
    EdgeRound reconcile(EdgeSource& source, long long asOfMicros);
    // The named domains only, read from `source` a reconcile page at a time (a burst of
    // thousands never holds every PEM at once); those without a certificate are removed.
    EdgeRound apply(EdgeSource& source, const std::set<std::string>& domainNames,
                    long long asOfMicros);
    // After HAProxy failed (down, restarting): compares and updates it entry by entry. Whether
    // it is now in step (false: still unreachable; retried later); then every certificate read
    // as of `asOfMicros` counts as applied.
    bool resyncHaproxy(long long asOfMicros);
    bool haproxyBehind() const { return haproxy_.behind(); }
    // Certificates HAProxy refused and has not taken since (counted as failing).
    std::size_t haproxyRefusals() const { return haproxy_.refused().size(); }
    // Offers them to HAProxy again: one poll interval after the first refusal, then less and
    // less often while it still refuses (the rounds do it too). Their file is unchanged, so
    // nothing else would before the next full reconcile.
    void retryHaproxyRefusals();
    // Whether a round stopped (threw: a full disk) after it wrote or removed domains' files but
    // before the crt-list, the wildcard map and HAProxy had them: the next apply() finishes
    // that, even with no names, since a retry finds those files as they should be.
    bool roundUnfinished() const { return !untoldWritten_.empty() || !untoldRemoved_.empty(); }
    // The domains not applied (a KEK missing on this host, a full disk) once they are due for
    // another try: one poll interval after the first failure, then twice as long each time up
    // to 10 minutes, as HAProxy's refusals. Nothing else offers them before the next full
    // reconcile once newer events move the poll's cursor 30 s past theirs. At most a reconcile
    // page of names a call (memory); the rest are due at once, in name order, until every one
    // had its try.
    std::set<std::string> failingDue();
    // When failingDue() has names again; none while none fails.
    std::optional<std::chrono::steady_clock::time_point> failingRetryAt() const;

    // When the due reload may run (EDGE_RELOAD_MIN_INTERVAL after the last one ended, longer
    // after failures); none while none is due or there is no EDGE_RELOAD_COMMAND.
    std::optional<std::chrono::steady_clock::time_point> reloadAt() const;
    // Runs EDGE_RELOAD_COMMAND once that time has come (the rounds call it too).
    void reloadIfDue();

    EdgeHeartbeat heartbeat(const std::string& agent) const;

private:
    // Claims and writes the certificates' files; the domains whose file changed.
    std::set<std::string> writeDomains(const std::vector<EdgeCertificate>& certificates,
                                       EdgeRound& round);
    bool writeDomain(const EdgeCertificate& certificate);  // whether its file changed
    // Claims the files of every domain with a certificate in one manifest write: claimed a page
    // at a time, a first run would rewrite a manifest of up to a million lines once per page.
    void claimAllFiles(EdgeSource& source);
    // Adds the files of `names` to `files`; a name no file can be made for is left out.
    static void addFileNames(const std::vector<std::string>& names, std::set<std::string>& files);
    void keepServingOlderFile(const EdgeCertificate& notApplied);
    void writeSharedFiles();
    void noteFailing(const EdgeCertificate& certificate);
    void finishRound(long long asOfMicros, const EdgeRound& round);

    EdgeDirectory& directory_;
    const KeyEncryptor& keys_;
    std::map<std::string, EdgeServedFile> served_;  // by domain name: what the files hold
    std::map<std::string, long long> failing_;      // domain name -> its certificate's time
    std::chrono::milliseconds firstFailingBackoff_;  // EDGE_POLL_INTERVAL
    std::chrono::milliseconds failingBackoff_{0};
    std::chrono::steady_clock::time_point nextFailingRetry_{};
    std::string failingRetriedThrough_;  // the last name of this round of tries; "": none yet
    // Domains whose file a round wrote, or which it removed, before it stopped: not yet in the
    // crt-list and the map, nor told to HAProxy (README, "Files": "tries again").
    std::set<std::string> untoldWritten_;
    std::set<std::string> untoldRemoved_;
    EdgeHaproxySync haproxy_;                       // reads served_
    EdgeReloader reloader_;
    std::optional<long long> appliedThrough_;
    long long lastAsOf_ = 0;  // the last round's time: what a retry that succeeds applies up to
    std::string appliedCertificateId_;
    long long newestApplied_ = 0;
};

}  // namespace dnsh
