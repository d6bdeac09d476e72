#include "admin/proc_file.hpp"

#include <fstream>

namespace dnsh {

std::string readFirstLine(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // a failed read sets failbit and leaves it empty
    return line;
}

}  // namespace dnsh
