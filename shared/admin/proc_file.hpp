#pragma once
// One-line files the kernel keeps (/proc/sys settings, cgroup limits), read as the operator
// commands and start-time checks read them: a missing or unreadable file is not an error.
#include <filesystem>
#include <string>

namespace dnsh {

// The file's first line without its line break; empty when it cannot be read.
std::string readFirstLine(const std::filesystem::path& file);

}  // namespace dnsh
