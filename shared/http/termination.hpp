#pragma once
// lighttpd stops its FastCGI children with SIGTERM. Instead of dying mid-loop, a handler stops
// accepting, finishes the request in hand, and returns from serve(), so what runs at exit (the
// last metrics flush) runs.
namespace dnsh {

void stopAcceptingOnTermination();

}  // namespace dnsh
