#pragma once
// A database of its own on the test server, dropped when the case ends: for tests that rewrite
// or rebuild a whole schema (migrations, KEK rotation) without touching the shared one.
#include <memory>
#include <string>

#include "db/database.hpp"

namespace dnsh::test {

class ScratchDatabase {
public:
    explicit ScratchDatabase(const std::string& prefix);
    ~ScratchDatabase();
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;

    const std::string& url() const { return url_; }
    Database& database() { return *database_; }
    // Applies the project's migrations up to and including `last` (a name such as
    // "002_order_retries"); all of them when empty.
    void migrate(const std::string& last = "");
    void run(const std::string& sql);          // a script of one or more statements
    std::string text(const std::string& sql);  // first column of the first row; "" when none

private:
    std::string name_;
    std::string url_;
    std::unique_ptr<Database> database_;
};

}  // namespace dnsh::test
