#include "edge/edge_sync.hpp"

#include <algorithm>

#include "edge/edge_names.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A domain that keeps failing (a row no KEK opens) is tried this often, as HAProxy's refusals.
constexpr milliseconds kLastFailingBackoff{600'000};

// A full reconcile reads this many certificates at a time: a few MB with real chains (3-6 KB a
// row), held twice (libpq's result and the copies) while the page is written.
constexpr int kReconcilePage = 200;
constexpr int kNamePage = 10'000;  // about 30 bytes a row

}  // namespace

EdgeSync::EdgeSync(const EdgeSettings& settings, EdgeDirectory& directory, const KeyEncryptor& keys)
    : directory_(directory), keys_(keys),
      firstFailingBackoff_(std::max(settings.pollInterval, milliseconds(1'000))),
      haproxy_(settings, directory, served_), reloader_(settings, directory) {}

void EdgeSync::noteFailing(const EdgeCertificate& certificate) {
    if (failing_.empty()) {
        failingBackoff_ = firstFailingBackoff_;
        nextFailingRetry_ = Clock::now() + failingBackoff_;
        failingRetriedThrough_.clear();
    }
    failing_[certificate.domainName] = certificate.createdMicros;
}

std::set<std::string> EdgeSync::failingDue() {
    if (failing_.empty() || Clock::now() < nextFailingRetry_) return {};
    // A page at a time, as the reconcile reads them: when every domain fails (a host left out
    // of a KEK rotation) one query for them all would hold every PEM at once (review-batchB #1).
    std::set<std::string> names;
    auto it = failingRetriedThrough_.empty() ? failing_.begin()
                                             : failing_.upper_bound(failingRetriedThrough_);
    for (; it != failing_.end() && names.size() < static_cast<std::size_t>(kReconcilePage); ++it)
        names.insert(it->first);
    if (it != failing_.end()) {
        failingRetriedThrough_ = *names.rbegin();  // the next page is due at once
        return names;
    }
    // Every failing domain had its try: the next round of tries waits longer.
    failingRetriedThrough_.clear();
    failingBackoff_ = std::min(failingBackoff_ * 2, kLastFailingBackoff);
    nextFailingRetry_ = Clock::now() + failingBackoff_;
    return names;
}

std::optional<Clock::time_point> EdgeSync::failingRetryAt() const {
    if (failing_.empty()) return std::nullopt;
    return nextFailingRetry_;
}


void EdgeSync::addFileNames(const std::vector<std::string>& names, std::set<std::string>& files) {
    for (const auto& name : names) {
        try {
            files.insert(edgeFileName(name));
        } catch (const std::invalid_argument&) {
            // Reported when its page is written.
        }
    }
}

void EdgeSync::claimAllFiles(EdgeSource& source) {
    std::set<std::string> files;
    std::string last;
    for (;;) {
        const std::vector<std::string> names = source.certificateNamesAfter(last, kNamePage);
        addFileNames(names, files);
        if (names.size() < static_cast<std::size_t>(kNamePage)) break;
        last = names.back();
    }
    // A file refused here is refused again, and reported, when its page is written.
    directory_.claim(files);
}

EdgeRound EdgeSync::reconcile(EdgeSource& source, long long asOfMicros) {
    EdgeRound round;
    claimAllFiles(source);
    // Each page is a snapshot of its own, none older than asOfMicros: a certificate stored
    // meanwhile is in its page, or its edge_events row is after asOfMicros (the cursor).
    std::set<std::string> desired;
    std::string last;
    for (;;) {
        const std::vector<EdgeCertificate> page = source.certificatesAfter(last, kReconcilePage);
        if (page.empty()) break;
        for (const auto& certificate : page) desired.insert(certificate.domainName);
        EdgeRound written;
        writeDomains(page, written);
        round.written += written.written;
        round.failed += written.failed;
        if (page.size() < static_cast<std::size_t>(kReconcilePage)) break;
        last = page.back().domainName;
    }
    // Only now is the desired set known: what no page held is forgotten.
    for (auto it = served_.begin(); it != served_.end();)
        it = desired.count(it->first) ? std::next(it) : served_.erase(it);
    for (auto it = failing_.begin(); it != failing_.end();)
        it = desired.count(it->first) ? std::next(it) : failing_.erase(it);
    haproxy_.forgetRefusalsExcept(desired);
    writeSharedFiles();
    haproxy_.compare();
    // Files of domains deleted while no agent ran (the manifest knows them; nothing else is
    // touched), after HAProxy let go of them.
    std::set<std::string> wanted{kEdgeCrtList, kEdgeNginxWildcards};
    for (const auto& domain : desired) {
        try {
            wanted.insert(edgeFileName(domain));
        } catch (const std::invalid_argument&) {
            // Reported when it was written.
        }
    }
    std::set<std::string> unwanted;
    for (const auto& name : directory_.owned())
        if (!wanted.count(name)) unwanted.insert(name);
    round.removed = directory_.remove(unwanted);
    untoldWritten_.clear();  // all of it compared and written above
    untoldRemoved_.clear();
    // Whenever the map changed since the last reload, not only in this round: a run killed
    // after its renames but before the command (or whose command failed) left a map the proxy
    // has not read, which this one finds unchanged; the directory's marker says so. Nothing
    // changed since the last reload: no reload, so `--once` from cron does not reload each run.
    reloadIfDue();
    finishRound(asOfMicros, round);
    return round;
}

EdgeRound EdgeSync::apply(EdgeSource& source, const std::set<std::string>& domainNames,
                          long long asOfMicros) {
    EdgeRound round;
    // The files of the burst's new domains claimed in one manifest write, not once per page.
    std::set<std::string> files;
    addFileNames(source.certificateNamesOf(domainNames), files);
    directory_.claim(files);  // a file refused here is refused again, and reported, below
    // A page of names at a time: one result for a burst (a mass renewal, a catch-up after
    // PostgreSQL was unreachable) held every PEM of it twice, as a reconcile read whole did.
    std::set<std::string> found;
    std::set<std::string> page;
    auto writePage = [&] {
        const std::vector<EdgeCertificate> certificates = source.certificatesOf(page);
        EdgeRound written;
        writeDomains(certificates, written);
        round.written += written.written;
        round.failed += written.failed;
        for (const auto& certificate : certificates) found.insert(certificate.domainName);
        page.clear();
    };
    for (const auto& name : domainNames) {
        page.insert(name);
        if (page.size() == static_cast<std::size_t>(kReconcilePage)) writePage();
    }
    if (!page.empty()) writePage();
    for (const auto& name : domainNames) {
        if (found.count(name)) continue;
        failing_.erase(name);
        haproxy_.forgetRefusal(name);
        try {
            const std::string file = edgeFileName(name);
            if (served_.erase(name) > 0 || directory_.owns(file)) {
                untoldRemoved_.insert(name);
                untoldWritten_.erase(name);
                ++round.removed;
            }
        } catch (const std::invalid_argument&) {
            // Not a name the agent could have written a file for.
        }
    }
    // This round's changes and those of an earlier round that stopped before this point (its
    // retry finds their files as they should be): without them a new domain's file would stay
    // out of the crt-list and HAProxy until the next full reconcile (review-edge #1).
    std::set<std::string> written;
    for (const auto& name : untoldWritten_)
        if (served_.count(name)) written.insert(name);
    std::set<std::string> removed;
    std::set<std::string> removedFiles;
    for (const auto& name : untoldRemoved_)
        if (!served_.count(name)) {
            removed.insert(name);
            removedFiles.insert(edgeFileName(name));  // a name it had a file for
        }
    if (!written.empty() || !removed.empty()) writeSharedFiles();
    haproxy_.update(written, removed);
    haproxy_.retryRefused(written);
    directory_.remove(removedFiles);
    untoldWritten_.clear();
    untoldRemoved_.clear();
    reloadIfDue();
    finishRound(asOfMicros, round);
    return round;
}

bool EdgeSync::resyncHaproxy(long long asOfMicros) {
    if (!haproxy_.compare()) return false;
    finishRound(asOfMicros, {});
    return true;
}

void EdgeSync::retryHaproxyRefusals() {
    // The last round's time still holds: it was held back by these refusals only.
    if (haproxy_.retryRefused({}) && lastAsOf_ > 0) finishRound(lastAsOf_, {});
}

std::optional<Clock::time_point> EdgeSync::reloadAt() const { return reloader_.dueAt(); }

void EdgeSync::reloadIfDue() { reloader_.runIfDue(); }

void EdgeSync::finishRound(long long asOfMicros, const EdgeRound& round) {
    if (round.written > 0 || round.removed > 0 || round.failed > 0)
        logEvent(round.failed > 0 ? LogLevel::Warn : LogLevel::Info, "edge files updated",
                 {{"written", round.written},
                  {"removed", round.removed},
                  {"failed", round.failed},
                  {"certificates", static_cast<int>(served_.size())}});
    lastAsOf_ = asOfMicros;
    // Not served until HAProxy (and the crt-list) has it.
    if (haproxy_.behind() || roundUnfinished()) return;
    long long through = asOfMicros;
    for (const auto& [name, created] : failing_) through = std::min(through, created - 1);
    for (const auto& [name, created] : haproxy_.refused()) through = std::min(through, created - 1);
    appliedThrough_ = through;
}

EdgeHeartbeat EdgeSync::heartbeat(const std::string& agent) const {
    std::size_t failing = failing_.size() + haproxy_.unremovedCount();
    for (const auto& entry : haproxy_.refused()) failing += failing_.count(entry.first) ? 0 : 1;
    // Written or removed by a round that stopped before HAProxy and the crt-list had them.
    for (const auto& name : untoldWritten_) failing += failing_.count(name) ? 0 : 1;
    failing += untoldRemoved_.size();
    return {agent, static_cast<int>(served_.size()), static_cast<int>(failing), appliedThrough_,
            appliedCertificateId_};
}

}  // namespace dnsh
