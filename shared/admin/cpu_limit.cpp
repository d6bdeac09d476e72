#include "admin/cpu_limit.hpp"

#include "admin/proc_file.hpp"

#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dnsh {

namespace {

using Poco::StringTokenizer;
constexpr int kTokenOptions = StringTokenizer::TOK_IGNORE_EMPTY | StringTokenizer::TOK_TRIM;

std::optional<Poco::Int64> parseCount(std::string_view text) {
    Poco::Int64 value = 0;
    if (!Poco::NumberParser::tryParse64(std::string(text), value)) return std::nullopt;
    return value;
}

std::optional<double> limitOf(Poco::Int64 quota, Poco::Int64 period) {
    if (quota <= 0 || period <= 0) return std::nullopt;
    return static_cast<double>(quota) / static_cast<double>(period);
}

bool isOctalDigit(char c) { return c >= '0' && c <= '7'; }

// A field of /proc/self/mountinfo writes a space, tab, newline or backslash as \ooo (octal).
std::string unescapeMountField(const std::string& field) {
    std::string plain;
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() &&
            std::all_of(field.begin() + static_cast<long>(i) + 1,
                        field.begin() + static_cast<long>(i) + 4, isOctalDigit)) {
            plain += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                       (field[i + 3] - '0'));
            i += 3;
        } else {
            plain += field[i];
        }
    }
    return plain;
}

// "/sys/fs/cgroup/cpu//a/" as "/sys/fs/cgroup/cpu/a": one spelling, so that walking up from a
// directory meets its mount point.
std::string withoutTrailingSlash(const std::string& path) {
    std::string normal = std::filesystem::path(path).lexically_normal().string();
    if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    return normal;
}

bool listHas(const std::string& commaList, const std::string& item) {
    const StringTokenizer items(commaList, ",", kTokenOptions);
    return std::find(items.begin(), items.end(), item) != items.end();
}

struct Mount {
    std::string root;        // the directory of the hierarchy mounted
    std::string mountPoint;  // where
};

// The mounts of the v1 hierarchy holding the `cpu` controller, or of the v2 one.
std::vector<Mount> cgroupMounts(std::string_view mountinfo, CgroupVersion version) {
    std::vector<Mount> mounts;
    std::istringstream lines{std::string(mountinfo)};
    for (std::string line; std::getline(lines, line);) {
        const StringTokenizer fields(line, " ", kTokenOptions);
        // id parent major:minor root mount-point options [optional fields...] - type source
        // super-options
        if (fields.count() < 10) continue;
        const auto separator = std::find(fields.begin() + 6, fields.end(), "-");
        if (fields.end() - separator < 4) continue;
        const std::string& type = *(separator + 1);
        const std::string& superOptions = *(separator + 3);
        const bool wanted = version == CgroupVersion::v2 ? type == "cgroup2"
                                         : type == "cgroup" && listHas(superOptions, "cpu");
        if (wanted)
            mounts.push_back({unescapeMountField(fields[3]), unescapeMountField(fields[4])});
    }
    return mounts;
}

// The process's path in the hierarchy, from /proc/self/cgroup ("id:controllers:path"; v2's
// line is "0::path").
std::optional<std::string> cgroupPath(std::string_view procSelfCgroup,
                                      CgroupVersion version) {
    std::istringstream lines{std::string(procSelfCgroup)};
    for (std::string line; std::getline(lines, line);) {
        const auto first = line.find(':');
        const auto second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos) continue;
        const std::string id = line.substr(0, first);
        const std::string controllers = line.substr(first + 1, second - first - 1);
        const bool wanted = version == CgroupVersion::v2 ? id == "0" && controllers.empty()
                                         : listHas(controllers, "cpu");
        if (wanted) return line.substr(second + 1);
    }
    return std::nullopt;
}

// An unreadable file reads as empty: no limit.
std::optional<double> limitIn(const CpuCgroup& cgroup, const std::filesystem::path& directory) {
    if (cgroup.version == CgroupVersion::v2)
        return cpuLimitFromCpuMax(readFirstLine(directory / "cpu.max"));
    return cpuLimitFromCfs(readFirstLine(directory / "cpu.cfs_quota_us"),
                           readFirstLine(directory / "cpu.cfs_period_us"));
}

}  // namespace

std::optional<double> cpuLimitFromCpuMax(std::string_view cpuMax) {
    const StringTokenizer fields{std::string(cpuMax), " ", kTokenOptions};
    if (fields.count() != 2 || fields[0] == "max") return std::nullopt;
    const auto quota = parseCount(fields[0]);
    const auto period = parseCount(fields[1]);
    if (!quota || !period) return std::nullopt;
    return limitOf(*quota, *period);
}

std::optional<double> cpuLimitFromCfs(std::string_view quota, std::string_view period) {
    const auto quotaUs = parseCount(Poco::trim(std::string(quota)));
    const auto periodUs = parseCount(Poco::trim(std::string(period)));
    if (!quotaUs || !periodUs) return std::nullopt;
    return limitOf(*quotaUs, *periodUs);  // -1: no quota
}

std::vector<CpuCgroup> cpuCgroups(std::string_view procSelfCgroup,
                                  std::string_view procSelfMountinfo) {
    std::vector<CpuCgroup> found;
    for (const auto version : {CgroupVersion::v1, CgroupVersion::v2}) {
        const auto path = cgroupPath(procSelfCgroup, version);
        if (!path) continue;
        for (const Mount& mount : cgroupMounts(procSelfMountinfo, version)) {
            // The path is from the hierarchy's root; a mount may show only a subtree of it (a
            // container's), whose own root is then a prefix of the path.
            std::string relative;
            if (mount.root == "/") {
                relative = *path;
            } else if (*path == mount.root || path->starts_with(mount.root + "/")) {
                relative = path->substr(mount.root.size());
            } else {
                continue;
            }
            const std::string top = withoutTrailingSlash(mount.mountPoint);
            const std::string directory = withoutTrailingSlash(top + "/" + relative);
            // A cgroup outside this process's cgroup namespace shows as "/.." and up: not ours.
            if (directory != top && !directory.starts_with(top == "/" ? top : top + "/")) continue;
            found.push_back({version, top, directory});
            break;
        }
    }
    return found;
}

std::vector<CpuCgroup> thisProcessCpuCgroups() {
    // operator<< from a file's buffer sets failbit on a failed read rather than throwing: an
    // unreadable file reads as empty, no cgroup.
    std::ostringstream cgroup, mountinfo;
    cgroup << std::ifstream("/proc/self/cgroup").rdbuf();
    mountinfo << std::ifstream("/proc/self/mountinfo").rdbuf();
    return cpuCgroups(cgroup.str(), mountinfo.str());
}

std::optional<double> cgroupCpuLimit() {
    std::optional<double> tightest;
    for (const CpuCgroup& found : thisProcessCpuCgroups()) {
        // A parent's limit bounds its children's: each directory up to the mount point counts.
        for (std::filesystem::path directory = found.directory;;
             directory = directory.parent_path()) {
            if (const auto limit = limitIn(found, directory))
                tightest = tightest ? std::min(*tightest, *limit) : *limit;
            if (directory.string() == found.mountPoint || !directory.has_relative_path()) break;
        }
    }
    return tightest;
}

}  // namespace dnsh
