#pragma once
// dnsh-admin's --json output of a command that reports item by item (list, ari-refresh).
#include <Poco/JSON/Object.h>

#include <iostream>

#include "dnsh_admin_stdout.hpp"

namespace dnsh_admin {

// A JSON array written to stdout one item at a time (memory stays bounded). Closed only when the
// command finished or an operator stopped it (close()): a command an error ended part way leaves
// it unterminated, so that a script reading it fails rather than take a cut list (or "[]" from
// a database that never answered) for a whole one; the items written before it stay readable.
class JsonArrayOnStdout {
public:
    JsonArrayOnStdout() { std::cout << "["; }
    ~JsonArrayOnStdout() {
        if (!closed_) std::cout << "\n" << std::flush;
    }
    JsonArrayOnStdout(const JsonArrayOnStdout&) = delete;
    JsonArrayOnStdout& operator=(const JsonArrayOnStdout&) = delete;

    void add(const Poco::JSON::Object& item) {
        if (!empty_) std::cout << ",";
        empty_ = false;
        item.stringify(std::cout);
        stdoutWriteError();  // why it failed, if it did, while errno still says
    }
    void close() {
        if (!closed_) std::cout << "]\n" << std::flush;
        closed_ = true;
    }

private:
    bool empty_ = true;
    bool closed_ = false;
};

}  // namespace dnsh_admin
