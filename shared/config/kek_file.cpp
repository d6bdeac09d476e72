#include "config/kek_file.hpp"

#include <stdexcept>

#include "config/config.hpp"

namespace dnsh {

KeyEncryptor keyEncryptorFromFiles(const std::string& paths) {
    try {
        return KeyEncryptor::fromFile(paths);
    } catch (const std::runtime_error& e) {
        throw ConfigError(e.what());
    }
}

}  // namespace dnsh
