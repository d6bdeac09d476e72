#pragma once
// EDGE_DIR on a TLS host: the only place the edge agent writes. Every file is replaced
// atomically (a temporary file in the same directory, written, fsynced, renamed over the old
// one, the directory fsynced), so a proxy reading it sees the old or the new content, never a
// part, even after kill -9 or a full disk. A manifest lists the files the agent owns: it removes
// only those and never writes over a file it did not create.
#include <sys/types.h>

#include <optional>
#include <set>
#include <string>

#include "config/edge_config.hpp"

namespace dnsh {

class EdgeDirectory {
public:
    // Opens `path` (created mode 0755, or 0750 with a group, when missing). Refuses a symlink and
    // a directory that is not owned by this user or that others may write to. Takes the
    // directory's lock (another agent holding it: std::runtime_error saying so), removes the
    // temporary files an interrupted run left, and reads the manifest. `group`: the gid the key
    // files are shared with (mode 0640), or none (0600).
    // `reloadOn`: which changes make a reload due (reloadDue()).
    EdgeDirectory(const std::string& path, std::optional<gid_t> group,
                  EdgeReloadOn reloadOn = EdgeReloadOn::Any);
    ~EdgeDirectory();
    EdgeDirectory(const EdgeDirectory&) = delete;
    EdgeDirectory& operator=(const EdgeDirectory&) = delete;

    const std::string& path() const { return path_; }
    std::string pathOf(const std::string& name) const { return path_ + "/" + name; }

    enum class Mode { Public, Secret };  // 0644, or key material (0600 / 0640 with the group)

    // Adds the names to the manifest (one write of it) before their files are written, so a
    // kill -9 right after a rename never leaves a file the next run refuses as not its own.
    // Returns the names refused: a file of that name exists that the agent did not write.
    std::set<std::string> claim(const std::set<std::string>& names);
    // Makes the claimed `name` hold `content` (temporary file, fsync, rename). Returns false
    // when it already did. Throws std::runtime_error for a name not claimed, or when a write
    // fails (the old file, if any, is left as it was). The rename is durable after sync().
    bool write(const std::string& name, const std::string& content, Mode mode);
    // Removes the files of these names the agent owns (a file it does not own is left alone),
    // then drops them from the manifest. Returns how many it removed.
    int remove(const std::set<std::string>& names);
    // fsync of the directory: the renames and removals before it survive a power cut.
    void sync();

    // Whether a file a proxy reads only when it starts or reloads changed and no reload has been
    // told of it: a marker file, made (and the directory synced) before the first such change
    // after the last reload, so a run killed between its renames and EDGE_RELOAD_COMMAND leaves
    // it for the next run. With EdgeReloadOn::Map only nginx's wildcard map is such a file
    // (deploy/edge/nginx.conf.in): nginx opens the .pem files at every handshake and HAProxy is
    // told through its runtime API, so a renewal (70 a second in a mass renewal) needs no reload;
    // with Any every file is.
    bool reloadDue() const { return reloadDue_; }
    // The reload ran: the marker goes (unsynced: if a power cut brings it back, one more reload).
    void reloaded();

    bool owns(const std::string& name) const { return owned_.count(name) > 0; }
    const std::set<std::string>& owned() const { return owned_; }
    // What a file holds now; none when it does not exist (or is a symlink).
    std::optional<std::string> read(const std::string& name) const;

private:
    void writeAtomically(const std::string& name, const std::string& content, mode_t mode);
    void saveManifest();
    void markReloadDue();

    std::string path_;
    std::optional<gid_t> group_;
    EdgeReloadOn reloadOn_;
    int dirFd_ = -1;
    int lockFd_ = -1;
    std::set<std::string> owned_;  // the manifest
    bool reloadDue_ = false;       // kEdgeReloadDue exists
};

}  // namespace dnsh
