#include "edge/edge_haproxy_sync.hpp"

#include <algorithm>

#include "crypto/secret_string.hpp"
#include "edge/edge_names.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A certificate HAProxy keeps refusing (too large for its runtime API) is offered this often.
constexpr milliseconds kLastRefusedBackoff{600'000};

}  // namespace

EdgeHaproxySync::EdgeHaproxySync(const EdgeSettings& settings, const EdgeDirectory& directory,
                                 const std::map<std::string, EdgeServedFile>& served)
    : settings_(settings), directory_(directory), served_(served) {
    if (!settings.haproxySocket.empty())
        haproxy_.emplace(settings.haproxySocket, directory.pathOf(kEdgeCrtList));
}

std::string EdgeHaproxySync::pathOf(const std::string& domainName) const {
    return directory_.pathOf(edgeFileName(domainName));
}

void EdgeHaproxySync::forgetRefusalsExcept(const std::set<std::string>& domainNames) {
    for (auto it = refused_.begin(); it != refused_.end();)
        it = domainNames.count(it->first) ? std::next(it) : refused_.erase(it);
}

void EdgeHaproxySync::update(const std::set<std::string>& changed,
                             const std::set<std::string>& removed) {
    if (!haproxy_ || (changed.empty() && removed.empty() && !behind_)) return;
    if (behind_) {
        compare();
        return;
    }
    try {
        for (const auto& name : removed) {
            const std::string path = pathOf(name);
            if (listed_.count(path) && remove(path)) listed_.erase(path);
        }
        for (const auto& name : changed) {
            const std::string path = pathOf(name);
            if (install(name, !lists(path))) listed_.insert(path);
        }
    } catch (const std::runtime_error& e) {
        // Unreachable, or an answer about no one entry: the files are written;
        // EdgeSync::resyncHaproxy() compares it all later.
        behind_ = true;
        logEvent(LogLevel::Warn, "HAProxy not updated, will retry", {{"detail", e.what()}});
    }
}

bool EdgeHaproxySync::install(const std::string& domainName, bool isNew) {
    const std::string path = pathOf(domainName);
    auto pem = directory_.read(edgeFileName(domainName));
    if (!pem) return false;
    const SecretString content(std::move(*pem));
    const EdgeServedFile& served = served_.at(domainName);
    try {
        haproxy_->install(path, content.str(), served.serial, isNew);
    } catch (const HaproxyUnreachable&) {
        throw;
    } catch (const std::runtime_error& e) {
        // Offered again by retryRefused() and compared at the next full reconcile. A new file
        // refused is not in the crt-list: install() adds it last.
        if (refused_.empty()) {
            refusedBackoff_ = settings_.pollInterval;
            nextRefusedRetry_ = Clock::now() + refusedBackoff_;
        }
        refused_[domainName] = served.createdMicros;
        logEvent(LogLevel::Error, "HAProxy refused a certificate",
                 {{"domain", domainName}, {"detail", e.what()}});
        return false;
    }
    unremoved_.erase(path);
    refused_.erase(domainName);
    return true;
}

bool EdgeHaproxySync::remove(const std::string& path) {
    try {
        haproxy_->remove(path);
    } catch (const HaproxyUnreachable&) {
        throw;
    } catch (const std::runtime_error& e) {
        // "certificate '<file>' is empty!", "... in several entries", "Operations on certificates
        // are currently locked!" (management guide §9.3, "del ssl crt-list"): this entry stays,
        // tried again at the next full reconcile if still listed; the others go on.
        unremoved_.insert(path);
        logEvent(LogLevel::Error, "HAProxy did not remove a certificate",
                 {{"file", path}, {"detail", e.what()}});
        return false;
    }
    unremoved_.erase(path);
    return true;
}

bool EdgeHaproxySync::lists(const std::string& path) {
    if (!unremoved_.count(path)) return listed_.count(path) > 0;
    // After a refused removal only HAProxy knows: a second `add ssl crt-list` would list the file
    // twice, and `del ssl crt-list` refuses a file listed twice.
    return haproxy_->listed().count(path) > 0;
}

bool EdgeHaproxySync::compare() {
    if (!haproxy_) return true;
    try {
        const auto entries = haproxy_->entries();
        std::set<std::string> wanted;
        for (const auto& entry : served_) wanted.insert(pathOf(entry.first));
        unremoved_.clear();
        std::set<std::string> listed;
        std::set<std::string> nowListed;  // what the crt-list holds after this compare
        std::set<std::string> duplicated;  // listed twice still: HAProxy refused a removal
        const std::string prefix = directory_.path() + "/";
        for (const auto& [path, lines] : entries) {
            listed.insert(path);
            if (path.rfind(prefix, 0) != 0) continue;  // not the agent's
            // A file listed twice (an `add ssl crt-list` repeated: HAProxy refuses that only
            // for a directory) cannot be removed by name, so a deleted domain would stay served:
            // its later entries go by line number.
            for (std::size_t i = 1; i < lines.size(); ++i) {
                try {
                    haproxy_->removeEntry(path, lines[i]);
                } catch (const HaproxyUnreachable&) {
                    throw;
                } catch (const std::runtime_error& e) {
                    duplicated.insert(path);
                    logEvent(LogLevel::Error, "HAProxy did not remove a duplicate entry",
                             {{"file", path}, {"line", lines[i]}, {"detail", e.what()}});
                }
            }
            if (wanted.count(path) || !remove(path)) nowListed.insert(path);
        }
        for (const auto& [name, served] : served_) {
            const std::string path = pathOf(name);
            const bool isListed = listed.count(path) > 0;
            if (isListed && haproxy_->serialOf(path) == served.serial) {
                // Served (HAProxy read the file itself at a restart or reload, where the
                // runtime API's size limit does not apply): a refusal of it no longer stands.
                refused_.erase(name);
                continue;
            }
            if (install(name, !isListed)) nowListed.insert(path);
        }
        listed_ = nowListed;
        unremoved_.insert(duplicated.begin(), duplicated.end());  // failing until gone
        if (behind_) logEvent(LogLevel::Info, "HAProxy in step again");
        behind_ = false;
        return true;
    } catch (const std::runtime_error& e) {
        behind_ = true;
        logEvent(LogLevel::Warn, "HAProxy not updated, will retry", {{"detail", e.what()}});
        return false;
    }
}

bool EdgeHaproxySync::retryRefused(const std::set<std::string>& justTried) {
    if (!haproxy_ || behind_ || refused_.empty() || Clock::now() < nextRefusedRetry_)
        return false;
    std::set<std::string> names;
    for (const auto& entry : refused_)
        if (!justTried.count(entry.first) && served_.count(entry.first)) names.insert(entry.first);
    const std::size_t asked = names.size();
    try {
        // One HAProxy serves already (it read the file itself at a restart or reload): done.
        for (auto it = names.begin(); it != names.end();)
            if (haproxy_->serialOf(pathOf(*it)) == served_.at(*it).serial) {
                refused_.erase(*it);
                it = names.erase(it);
            } else {
                ++it;
            }
    } catch (const std::runtime_error& e) {
        behind_ = true;  // compared in full once it answers
        logEvent(LogLevel::Warn, "HAProxy not updated, will retry", {{"detail", e.what()}});
        return false;
    }
    if (names.empty()) return asked > 0;
    update(names, {});
    refusedBackoff_ = std::min(refusedBackoff_ * 2, kLastRefusedBackoff);
    nextRefusedRetry_ = Clock::now() + refusedBackoff_;
    return true;
}

}  // namespace dnsh
