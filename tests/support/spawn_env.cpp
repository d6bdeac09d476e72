#include "support/spawn_env.hpp"

#include <unistd.h>

namespace dnsh::test {

SpawnEnvironment::SpawnEnvironment(const std::map<std::string, std::string>& overrides) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text = *entry;
        if (overrides.count(text.substr(0, text.find('='))) == 0) entries_.push_back(text);
    }
    for (const auto& [name, value] : overrides) entries_.push_back(name + "=" + value);
    for (auto& entry : entries_) pointers_.push_back(entry.data());
    pointers_.push_back(nullptr);
}

SpawnArguments::SpawnArguments(const std::string& program,
                               const std::vector<std::string>& arguments) {
    words_.push_back(program);
    words_.insert(words_.end(), arguments.begin(), arguments.end());
    for (auto& word : words_) pointers_.push_back(word.data());
    pointers_.push_back(nullptr);
}

}  // namespace dnsh::test
