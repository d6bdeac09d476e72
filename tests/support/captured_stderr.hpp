#pragma once
// What `work` writes to stderr (the log lines of the code under test), captured through a
// temporary file in place of file descriptor 2 while it runs.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace dnsh::test {

template <typename Work>
std::string capturedStderr(Work&& work) {
    std::fflush(stderr);
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file), STDERR_FILENO);
    work();
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::string text;
    std::rewind(file);
    for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file))
        text.push_back(static_cast<char>(c));
    std::fclose(file);
    return text;
}

}  // namespace dnsh::test
