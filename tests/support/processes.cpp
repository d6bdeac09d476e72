#include "support/processes.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace dnsh::test {

namespace fs = std::filesystem;

std::vector<std::string> statOf(pid_t pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    return statFrom(file);
}

std::vector<std::string> statFrom(std::ifstream& file) {
    // One line. Read through the stream, not its buffer: a read that fails (ESRCH once the
    // process is gone) sets the stream's badbit, where an istreambuf_iterator would let
    // libstdc++'s exception out.
    std::string stat;
    std::getline(file, stat);
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream rest(stat.substr(close + 1));
    return {std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
}

pid_t parentOf(pid_t pid) {
    const std::vector<std::string> fields = statOf(pid);
    return fields.size() > 1 ? static_cast<pid_t>(std::stol(fields[1])) : 0;
}

int niceOf(pid_t pid) {
    const std::vector<std::string> fields = statOf(pid);
    if (fields.size() <= 16) throw std::runtime_error("no process " + std::to_string(pid));
    return std::stoi(fields[16]);
}

std::string executableOf(pid_t pid) {
    std::error_code error;
    return fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", error).string();
}

std::vector<pid_t> childrenOf(pid_t parent) {
    std::vector<pid_t> children;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const auto pid = static_cast<pid_t>(std::stol(name));
        if (parentOf(pid) == parent) children.push_back(pid);
    }
    return children;
}

}  // namespace dnsh::test
