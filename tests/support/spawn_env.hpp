#pragma once
// The environment a test starts a child with: the test's own plus overrides, kept as strings
// so that everything the child needs exists before it is started (the test process has
// threads; see ChildProcess and runCgi).
#include <map>
#include <string>
#include <vector>

namespace dnsh::test {

class SpawnEnvironment {
public:
    explicit SpawnEnvironment(const std::map<std::string, std::string>& overrides);
    SpawnEnvironment(const SpawnEnvironment&) = delete;
    SpawnEnvironment& operator=(const SpawnEnvironment&) = delete;

    // NULL-terminated, valid while this object lives.
    char** envp() { return pointers_.data(); }

private:
    std::vector<std::string> entries_;
    std::vector<char*> pointers_;
};

}  // namespace dnsh::test
