#include "db/server_state.hpp"

namespace dnsh {

// 25006 read_only_sql_transaction: a write on a server that takes none (a standby: the old
// primary rejoined as one behind a multi-host URL without target_session_attrs, a DNS name or a
// pooler still pointing at it; default_transaction_read_only turned on, as managed servers do
// when their disk fills). 57P03 cannot_connect_now: starting up, shutting down, in recovery; a
// server sends it (and 53300 below) when a connection opens, where it is a database that cannot
// be reached (unavailable): here only from a statement that raises it.
bool refusesWrites(const std::string& state) {
    return state == "25006" || state == "57P03";
}

// Class 53 insufficient_resources and class 58 system_error (PostgreSQL Appendix A): the
// server's condition, not the statement's, for the operator to fix (a full disk, memory,
// max_connections). In plain words a client may read: PostgreSQL's own text names the server's
// files ("could not extend file \"base/...\": No space left on device"). "" for any other state.
std::string resourceShortage(const std::string& state) {
    if (state == "53100") return "its disk is full";
    if (state == "53200") return "it is out of memory";
    if (state == "53300") return "it has too many connections";
    if (state == "53400") return "it reached a configured limit";
    if (state.starts_with("53")) return "it is short of resources";
    if (state == "58030") return "it could not read or write its storage";
    if (state.starts_with("58")) return "it met a system error";
    return "";
}

bool rowContention(const std::string& state) {
    return state == "55P03" || state == "40P01" || state == "40001";
}

}  // namespace dnsh
