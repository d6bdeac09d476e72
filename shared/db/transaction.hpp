#pragma once
// Runs `work` in one transaction: committed when it returns true; rolled back when it returns
// false or throws. BEGIN (READ ONLY while writes are held back: beginTransaction), COMMIT
// (within this thread's bound: commitTransaction) and ROLLBACK are sent by us, not by Poco's
// Session::begin and commit, whose flag of a transaction under way a COMMIT of ours would leave
// set (its next begin would then send no BEGIN).
#include <Poco/Data/Session.h>

#include "db/commit_wait.hpp"
#include "db/database.hpp"  // executeScript, rollbackQuietly

namespace dnsh {

template <typename Work>
bool inTransaction(Poco::Data::Session& session, Work&& work) {
    beginTransaction(session);
    try {
        if (!work()) {
            executeScript(session, "ROLLBACK");
            return false;
        }
        commitTransaction(session);
        return true;
    } catch (...) {
        rollbackQuietly(session);
        throw;
    }
}

}  // namespace dnsh
