#pragma once
// An environment variable set for a scope and put back as it was (set to its old value, or
// unset) when the scope ends: libpq reads PGOPTIONS, PGPORT, PGCONNECT_TIMEOUT at each connect.
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace dnsh::test {

class ScopedEnvironmentVariable {
public:
    ScopedEnvironmentVariable(std::string name, const std::string& value)
        : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) previous_ = old;
        ::setenv(name_.c_str(), value.c_str(), 1);
    }
    ~ScopedEnvironmentVariable() {
        if (previous_)
            ::setenv(name_.c_str(), previous_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    ScopedEnvironmentVariable(const ScopedEnvironmentVariable&) = delete;
    ScopedEnvironmentVariable& operator=(const ScopedEnvironmentVariable&) = delete;

private:
    std::string name_;
    std::optional<std::string> previous_;
};

}  // namespace dnsh::test
