#include "edge/edge_directory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "crypto/random.hpp"
#include "edge/edge_names.hpp"

namespace dnsh {

namespace {

[[noreturn]] void failWith(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

void writeAll(int fd, const std::string& content) {
    for (std::size_t done = 0; done < content.size();) {
        const ssize_t written = ::write(fd, content.data() + done, content.size() - done);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) {
            if (written == 0) errno = ENOSPC;
            throw std::runtime_error(std::strerror(errno));
        }
        done += static_cast<std::size_t>(written);
    }
}

// Whether a change of this file needs EDGE_RELOAD_COMMAND (reloadDue()). The agent's own
// dot-files (manifest, marker) are read by no terminator.
bool readOnlyAtReload(const std::string& name, EdgeReloadOn reloadOn) {
    if (reloadOn == EdgeReloadOn::Any) return name.front() != '.';
    return name == kEdgeNginxWildcards;
}

}  // namespace

EdgeDirectory::EdgeDirectory(const std::string& path, std::optional<gid_t> group,
                             EdgeReloadOn reloadOn)
    : path_(path), group_(group), reloadOn_(reloadOn) {
    if (::mkdir(path.c_str(), group ? 0750 : 0755) == 0) {
        if (group && ::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0)
            failWith("cannot give " + path + " to EDGE_GROUP");
    } else if (errno != EEXIST) {
        failWith("cannot create EDGE_DIR " + path);
    }
    dirFd_ = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirFd_ < 0) failWith("refusing EDGE_DIR " + path + " (not a directory, or a symlink)");
    struct stat info {};
    if (::fstat(dirFd_, &info) != 0) failWith("cannot stat " + path);
    // Whoever else can write here could swap a key file under the proxy.
    if (info.st_uid != ::geteuid() || (info.st_mode & 022) != 0) {
        ::close(dirFd_);
        throw std::runtime_error("refusing EDGE_DIR " + path +
                                 ": it must be owned by this user and writable by nobody else");
    }
    lockFd_ = ::openat(dirFd_, kEdgeLock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lockFd_ < 0) failWith("cannot open the lock " + pathOf(kEdgeLock));
    if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
        const int saved = errno;
        ::close(lockFd_);
        ::close(dirFd_);
        if (saved == EWOULDBLOCK)
            throw std::runtime_error("another edge agent is running on " + path + " (it holds " +
                                     kEdgeLock + ")");
        errno = saved;
        failWith("cannot lock " + path);
    }
    // What a killed run left half-written: never renamed, so never read by a proxy.
    if (DIR* listing = ::fdopendir(::dup(dirFd_))) {
        while (const dirent* entry = ::readdir(listing)) {
            if (std::string(entry->d_name).rfind(kEdgeTempPrefix, 0) == 0)
                ::unlinkat(dirFd_, entry->d_name, 0);
        }
        ::closedir(listing);
    }
    struct stat marker {};
    reloadDue_ = ::fstatat(dirFd_, kEdgeReloadDue, &marker, AT_SYMLINK_NOFOLLOW) == 0;
    if (const auto manifest = read(kEdgeManifest)) {
        std::istringstream lines(*manifest);
        for (std::string line; std::getline(lines, line);)
            if (!line.empty() && line.front() != '#') owned_.insert(line);
    }
}

EdgeDirectory::~EdgeDirectory() {
    if (lockFd_ >= 0) ::close(lockFd_);  // releases the lock
    if (dirFd_ >= 0) ::close(dirFd_);
}

std::optional<std::string> EdgeDirectory::read(const std::string& name) const {
    const int fd = ::openat(dirFd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string content;
    char buffer[16384];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        content.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    return content;
}

std::set<std::string> EdgeDirectory::claim(const std::set<std::string>& names) {
    std::set<std::string> refused;
    std::set<std::string> added;
    for (const auto& name : names) {
        if (owns(name)) continue;
        struct stat info {};
        if (::fstatat(dirFd_, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0) {
            refused.insert(name);
            continue;
        }
        added.insert(name);
    }
    if (added.empty()) return refused;
    owned_.insert(added.begin(), added.end());
    try {
        saveManifest();
    } catch (const std::runtime_error&) {
        for (const auto& name : added) owned_.erase(name);
        throw;
    }
    return refused;
}

bool EdgeDirectory::write(const std::string& name, const std::string& content, Mode mode) {
    if (!owns(name))
        throw std::runtime_error("not replacing " + pathOf(name) +
                                 ": the edge agent did not write it (not in its manifest)");
    const mode_t bits = mode == Mode::Public ? 0644 : (group_ ? 0640 : 0600);
    if (const auto current = read(name); current && *current == content) {
        struct stat info {};
        if (::fstatat(dirFd_, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
            (info.st_mode & 0777) == bits && (!group_ || info.st_gid == *group_))
            return false;
    }
    if (readOnlyAtReload(name, reloadOn_)) markReloadDue();
    writeAtomically(name, content, bits);
    return true;
}

int EdgeDirectory::remove(const std::set<std::string>& names) {
    int removed = 0;
    for (const auto& name : names) {
        if (!owns(name)) continue;
        if (readOnlyAtReload(name, reloadOn_)) markReloadDue();
        if (::unlinkat(dirFd_, name.c_str(), 0) != 0 && errno != ENOENT)
            failWith("cannot remove " + pathOf(name));
        owned_.erase(name);
        ++removed;
    }
    if (removed > 0) {
        sync();
        saveManifest();
    }
    return removed;
}

void EdgeDirectory::writeAtomically(const std::string& name, const std::string& content,
                                    mode_t mode) {
    const std::string temp = kEdgeTempPrefix + randomHex(8);
    const int fd =
        ::openat(dirFd_, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) failWith("cannot create a temporary file in " + path_);
    try {
        if (group_ && ::fchown(fd, static_cast<uid_t>(-1), *group_) != 0)
            throw std::runtime_error("cannot give it to EDGE_GROUP: " +
                                     std::string(std::strerror(errno)));
        if (::fchmod(fd, mode) != 0)  // whatever the umask said
            throw std::runtime_error(std::string("cannot set its mode: ") + std::strerror(errno));
        writeAll(fd, content);
        if (::fsync(fd) != 0) throw std::runtime_error(std::strerror(errno));
        if (::close(fd) != 0) {
            ::unlinkat(dirFd_, temp.c_str(), 0);
            failWith("cannot write " + pathOf(name));
        }
    } catch (const std::runtime_error& e) {
        ::close(fd);
        ::unlinkat(dirFd_, temp.c_str(), 0);  // the old file stays as it was
        throw std::runtime_error("cannot write " + pathOf(name) + ": " + e.what());
    }
    if (::renameat(dirFd_, temp.c_str(), dirFd_, name.c_str()) != 0) {
        const int saved = errno;
        ::unlinkat(dirFd_, temp.c_str(), 0);
        errno = saved;
        failWith("cannot replace " + pathOf(name));
    }
}

void EdgeDirectory::saveManifest() {
    std::string content = "# written by dnsh-edge-sync: the files of this directory it owns\n";
    for (const auto& name : owned_) content += name + "\n";
    writeAtomically(kEdgeManifest, content, 0644);
    sync();  // before any file it lists is renamed into place
}

void EdgeDirectory::markReloadDue() {
    if (reloadDue_) return;
    const int fd = ::openat(dirFd_, kEdgeReloadDue,
                            O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) failWith("cannot create " + pathOf(kEdgeReloadDue));
    ::close(fd);
    sync();  // before the change it announces
    reloadDue_ = true;
}

void EdgeDirectory::reloaded() {
    if (!reloadDue_) return;
    if (::unlinkat(dirFd_, kEdgeReloadDue, 0) != 0 && errno != ENOENT)
        failWith("cannot remove " + pathOf(kEdgeReloadDue));
    reloadDue_ = false;
}

void EdgeDirectory::sync() {
    if (::fsync(dirFd_) != 0) failWith("cannot sync " + path_);
}

}  // namespace dnsh
