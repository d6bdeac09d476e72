#pragma once
// What the edge agent calls a domain's files in EDGE_DIR (README, "Certificates on the TLS
// terminators"): the domain name itself, so an operator finds them by name and nginx finds them
// by $ssl_server_name; a wildcard "*.example.com" becomes "_wildcard.example.com" ('*' is no
// character to put in a file name a shell or a config file will meet).
#include <string>

namespace dnsh {

// The base name of a (normalised) domain name's files; throws std::invalid_argument for a name
// that could leave EDGE_DIR or hide among the agent's own files ("/", "..", a leading dot).
std::string edgeBaseName(const std::string& domainName);

// A domain's one file on the edge, "<base>.pem": leaf, chain and key. HAProxy loads it as it is
// (crt-list); nginx names it in both ssl_certificate and ssl_certificate_key. One file, because
// two (a chain and a key) cannot be replaced in one atomic step: a handshake between the two
// renames would pair the new certificate with the old key.
std::string edgeFileName(const std::string& domainName);

// Files the agent owns beside the domains' (they are in its manifest too).
inline constexpr const char* kEdgeCrtList = "haproxy.crt-list";
inline constexpr const char* kEdgeNginxWildcards = "nginx-wildcards.map";
inline constexpr const char* kEdgeManifest = ".edge-sync.manifest";
inline constexpr const char* kEdgeLock = ".edge-sync.lock";
inline constexpr const char* kEdgeTempPrefix = ".edge-sync.tmp.";
// Present while the wildcard map changed and no EDGE_RELOAD_COMMAND has run since.
inline constexpr const char* kEdgeReloadDue = ".edge-sync.reload-due";

}  // namespace dnsh
