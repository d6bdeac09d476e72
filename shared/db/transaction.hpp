#pragma once
// Runs `work` in one transaction: committed when it returns true; rolled back when it returns
// false or throws.
#include <Poco/Data/Session.h>

namespace dnsh {

template <typename Work>
bool inTransaction(Poco::Data::Session& session, Work&& work) {
    session.begin();
    try {
        if (!work()) {
            session.rollback();
            return false;
        }
        session.commit();
        return true;
    } catch (...) {
        try {
            session.rollback();
        } catch (...) {
        }
        throw;
    }
}

}  // namespace dnsh
