#include "dnsh_admin_stdout.hpp"

#include <Poco/Util/Application.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace dnsh_admin {

namespace {

int firstWriteError = 0;

// std::cout (in sync with stdio, the default) fails a write that fwrite or fflush failed;
// ferror(stdout) too, in case only stdio saw it.
bool stdoutFailed() { return !std::cout || std::ferror(stdout) != 0; }

}  // namespace

int stdoutWriteError() {
    if (firstWriteError == 0 && stdoutFailed()) firstWriteError = errno != 0 ? errno : EIO;
    return firstWriteError;
}

int exitCodeAfterOutput(const std::string& command, int exitCode) {
    // Failed before and not checked right after: errno no longer tells why.
    if (firstWriteError == 0 && stdoutFailed()) firstWriteError = kStdoutCauseUnknown;
    errno = 0;
    std::cout.flush();  // what stdio still holds: most output, when it is a file or a pipe
    const int error = stdoutWriteError();
    if (error == 0) return exitCode;
    std::string cause;
    if (error != kStdoutCauseUnknown) cause = std::string(" (") + std::strerror(error) + ")";
    if (command == "ari-refresh" && error == EPIPE) {
        std::cerr << "dnsh-admin ari-refresh: stdout was closed" << cause
                  << "; the run went on to the end, the exit code reports the certificates\n";
        return exitCode;
    }
    std::cerr << "dnsh-admin " << command << ": stdout could not be written" << cause
              << ": the output is cut or missing\n";
    return exitCode == Poco::Util::Application::EXIT_OK ? Poco::Util::Application::EXIT_IOERR
                                                        : exitCode;
}

}  // namespace dnsh_admin
