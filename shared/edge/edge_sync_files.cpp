// The files of EDGE_DIR that EdgeSync writes: each domain's PEM (leaf, chain, key) and the
// crt-list and nginx wildcard map of them all; the rounds, the failing domains and HAProxy
// are edge_sync.cpp's.
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/certificate.hpp"
#include "crypto/secret_string.hpp"
#include "edge/edge_names.hpp"
#include "edge/edge_sync.hpp"
#include "log/log.hpp"

namespace dnsh {

namespace {

// `pem` and, unless it ends with one, a newline.
void appendPem(SecretString& out, std::string_view pem) {
    out.append(pem);
    if (!pem.empty() && pem.back() != '\n') out.append("\n");
}

// A row's certificates as OpenSSL re-encodes them (crypto/certificate.hpp): rows hold what the CA
// sent, blank lines between certificates (Boulder) or CRLF, and HAProxy's runtime API ends a
// `set ssl cert` payload at its first empty line (management guide §9.3, "set ssl cert"), which
// would cut the rest of the chain and the key off. Rows stored before that was done included.
std::string canonicalColumn(const std::string& pem, const char* column) {
    try {
        return canonicalCertificatesPem(pem);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("the stored ") + column + ": " + e.what());
    }
}

}  // namespace

std::set<std::string> EdgeSync::writeDomains(const std::vector<EdgeCertificate>& certificates,
                                             EdgeRound& round) {
    std::set<std::string> files;
    for (const auto& certificate : certificates) {
        try {
            files.insert(edgeFileName(certificate.domainName));
        } catch (const std::invalid_argument&) {
            // Reported below, when its file name is asked for again.
        }
    }
    const std::set<std::string> refused = directory_.claim(files);
    std::set<std::string> changed;
    for (const auto& certificate : certificates) {
        try {
            const std::string file = edgeFileName(certificate.domainName);
            if (refused.count(file))
                throw std::runtime_error("not replacing " + directory_.pathOf(file) +
                                         ": the edge agent did not write it (not in its manifest)");
            if (writeDomain(certificate)) changed.insert(certificate.domainName);
        } catch (const std::exception& e) {
            // Skipped: its older file (if any) stays and keeps serving; the rest go on.
            ++round.failed;
            noteFailing(certificate);
            logEvent(LogLevel::Error, "certificate not applied",
                     {{"domain", certificate.domainName},
                      {"certificate_id", certificate.certificateId},
                      {"detail", errorDetail(e)}});
            keepServingOlderFile(certificate);
        }
    }
    directory_.sync();
    round.written = static_cast<int>(changed.size());
    return changed;
}

bool EdgeSync::writeDomain(const EdgeCertificate& certificate) {
    const std::string file = edgeFileName(certificate.domainName);
    const std::string serial = certificateSerialHex(certificate.leafPem);
    if (serial.empty()) throw std::runtime_error("the stored certificate is not a PEM certificate");
    // Decrypted key material lives in wiped buffers only (crypto/secret_string.hpp).
    SecretString combined;
    appendPem(combined, canonicalColumn(certificate.leafPem, "certificate_pem"));
    appendPem(combined, canonicalColumn(certificate.chainPem, "chain_pem"));
    // privateKeyToPem's PEM_write_bio_PrivateKey: LF lines, no blank line (install() checks).
    appendPem(combined, keys_.decrypt(certificate.sealedKey));
    const bool changed = directory_.write(file, combined.str(), EdgeDirectory::Mode::Secret);
    if (changed) {
        untoldWritten_.insert(certificate.domainName);
        untoldRemoved_.erase(certificate.domainName);
    }
    served_[certificate.domainName] = {certificate.certificateId, serial,
                                       certificate.createdMicros};
    failing_.erase(certificate.domainName);
    if (certificate.createdMicros >= newestApplied_) {
        newestApplied_ = certificate.createdMicros;
        appliedCertificateId_ = certificate.certificateId;
    }
    return changed;
}

// After a restart served_ knows nothing of a domain whose newest certificate cannot be applied:
// what its older file serves is read from the file (if the agent wrote one), or the crt-list
// would drop it and HAProxy let go of it (README: "its older file, if any, keeps serving").
void EdgeSync::keepServingOlderFile(const EdgeCertificate& notApplied) {
    if (served_.count(notApplied.domainName)) return;  // written by this process: known
    try {
        const std::string file = edgeFileName(notApplied.domainName);
        auto pem = directory_.owns(file) ? directory_.read(file) : std::nullopt;
        if (!pem) return;
        const SecretString content(std::move(*pem));
        const std::string serial = certificateSerialHex(content.str());
        if (serial.empty()) return;
        // It stands in for the certificate not applied: a refusal by HAProxy dates from that one.
        served_[notApplied.domainName] = {"", serial, notApplied.createdMicros};
    } catch (const std::exception&) {
        // No name for a file, or none readable: nothing of it is served.
    }
}

void EdgeSync::writeSharedFiles() {
    std::string crtList =
        "# written by dnsh-edge-sync: every certificate of this directory (HAProxy crt-list)\n";
    std::string wildcards =
        "# written by dnsh-edge-sync: wildcard names to their files (nginx map, hostnames)\n";
    std::set<std::string> wildcardApexes;  // S of every served *.S
    for (const auto& entry : served_)
        if (entry.first.rfind("*.", 0) == 0) wildcardApexes.insert(entry.first.substr(2));
    for (const auto& [name, served] : served_) {
        const std::string base = edgeBaseName(name);
        crtList += directory_.pathOf(base + ".pem") + "\n";
        if (name.rfind("*.", 0) != 0) {
            // In a `hostnames` map "*.S" matches names at any depth below S and wins over the
            // default: a name below a wildcard with a certificate of its own needs an exact
            // entry (exact entries win over wildcard ones), or nginx serves it the wildcard's.
            for (auto dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1))
                if (wildcardApexes.count(name.substr(dot + 1))) {
                    wildcards.append(name).append(" ").append(base).append(";\n");
                    break;
                }
            continue;
        }
        // A wildcard's certificate also covers its apex (the API orders both names), unless the
        // apex has a certificate of its own.
        const std::string apex = name.substr(2);
        wildcards += name + " " + base + ";\n";
        if (!served_.count(apex)) wildcards += apex + " " + base + ";\n";
    }
    directory_.claim({kEdgeCrtList, kEdgeNginxWildcards});
    directory_.write(kEdgeCrtList, crtList, EdgeDirectory::Mode::Public);
    directory_.write(kEdgeNginxWildcards, wildcards, EdgeDirectory::Mode::Public);
    directory_.sync();
}

}  // namespace dnsh
