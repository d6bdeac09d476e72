#pragma once
// dnsh-admin's stdout, checked: a report written to a full disk (`list > report.txt`, or
// >/dev/full) ended with exit 0 and an empty or cut file, which a script took for the whole one.
#include <stdexcept>
#include <string>

namespace dnsh_admin {

// errno of the first write to stdout that failed (kStdoutCauseUnknown when it was seen too late
// to tell, EIO when none was set), 0 while every write went through. Call it right after
// writing: the next system call may change errno.
inline constexpr int kStdoutCauseUnknown = -1;
int stdoutWriteError();

// Thrown by a command that stops once stdout has failed (list: reading a million rows to write
// nowhere helps nobody); tools/dnsh_admin.cpp answers it with 74.
class StdoutUnwritable : public std::runtime_error {
public:
    StdoutUnwritable() : std::runtime_error("stdout could not be written") {}
};
inline void throwIfStdoutFailed() {
    if (stdoutWriteError() != 0) throw StdoutUnwritable();
}

// `exitCode`, the command's, once its output is flushed. When stdout could not be written, says
// so on stderr and turns a 0 into 74 (EX_IOERR); a command that failed keeps its own code. One
// exception, ari-refresh's stdout closed by its reader (EPIPE: `| head`, less quit early): the
// run went on to the end as documented, and its exit code reports the certificates.
int exitCodeAfterOutput(const std::string& command, int exitCode);

}  // namespace dnsh_admin
