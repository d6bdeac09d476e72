#pragma once
// The environment a test starts a child with (the test's own plus overrides) and its arguments,
// kept as strings so that everything the child needs exists before it is started (the test
// process has threads; see ChildProcess and runCgi).
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

// A program and its arguments as execve takes them, made before the child is started too.
class SpawnArguments {
public:
    SpawnArguments(const std::string& program, const std::vector<std::string>& arguments);
    SpawnArguments(const SpawnArguments&) = delete;
    SpawnArguments& operator=(const SpawnArguments&) = delete;

    const char* program() const { return words_.front().c_str(); }
    // NULL-terminated, the program first, valid while this object lives.
    char** argv() { return pointers_.data(); }

private:
    std::vector<std::string> words_;
    std::vector<char*> pointers_;
};

}  // namespace dnsh::test
