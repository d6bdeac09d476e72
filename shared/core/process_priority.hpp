#pragma once
// lighttpd is the one process every request passes through. The local stack and the API's systemd
// unit start it at nice -5 (deploy/lib/stack.sh, deploy/systemd/dns-handling-api.service), so that
// on a busy machine it is not queued behind the processes it feeds (README "Benchmark": in ten
// runs in turns GET /domains/{id}'s p99 was over 2x its floor's in four at the same priority, up
// to 8.5x, and in one at -5; every route served more). Its FastCGI children inherit that priority;
// a handler gives it back and competes with PostgreSQL, which does the other half of its
// requests' work, as an equal.
namespace dnsh {

// A nice value below 0 (a raised priority) goes back to 0; 0 or above stays as it is (an operator
// who runs the whole service at a lower priority keeps it). Raising one's own nice value needs no
// privilege, so this cannot fail for lack of one; any other failure throws std::system_error.
void leaveInheritedPriority();

}  // namespace dnsh
