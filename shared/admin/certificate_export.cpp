#include "admin/certificate_export.hpp"

#include <Poco/Data/Statement.h>
#include <Poco/Tuple.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "domain/domain_name.hpp"

using namespace Poco::Data::Keywords;

namespace dnsh {

namespace {

[[noreturn]] void failWith(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// The export directory: created 0700 when missing; an existing one must be a real directory
// (not a symlink) owned by us and writable by nobody else, or another local user could have the
// decrypted key written where they choose. Returns an O_DIRECTORY descriptor to write under.
int openExportDirectory(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) failWith("cannot create " + dir);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) failWith("refusing " + dir + " (not a directory, or a symlink)");
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        ::close(fd);
        failWith("cannot stat " + dir);
    }
    if (info.st_uid != ::geteuid() || (info.st_mode & 022) != 0) {
        ::close(fd);
        throw std::runtime_error("refusing " + dir +
                                 ": it must be owned by this user and writable by nobody else");
    }
    return fd;
}

// A new file (O_EXCL: never through a symlink or over a file someone placed there), its mode set
// at creation, every write checked.
void writeNewFile(int dirFd, const std::string& dir, const std::string& name,
                  const std::string& content, mode_t mode) {
    const std::string path = dir + "/" + name;
    const int fd =
        ::openat(dirFd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) failWith("cannot create " + path + " (it must not exist yet)");
    auto fail = [&](const std::string& what) {
        const int saved = errno;
        ::close(fd);
        ::unlinkat(dirFd, name.c_str(), 0);
        errno = saved;
        failWith(what + " " + path);
    };
    if (::fchmod(fd, mode) != 0) fail("cannot set the mode of");  // whatever the umask said
    for (std::size_t done = 0; done < content.size();) {
        const ssize_t written = ::write(fd, content.data() + done, content.size() - done);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) fail("cannot write");
        done += static_cast<std::size_t>(written);
    }
    if (::fsync(fd) != 0) fail("cannot sync");
    if (::close(fd) != 0) failWith("cannot close " + path);
}

}  // namespace

void exportCertificate(Database& database, const KeyEncryptor& kek, const std::string& domainId,
                       const std::string& outDir) {
    if (!isDomainId(domainId)) throw Error(ErrorCode::NotFound, "domain not found");
    using Row = Poco::Tuple<std::string, std::string, std::string>;
    std::vector<Row> rows;
    database.withSession([&](Poco::Data::Session& session) {
        std::string id = domainId;
        session << "SELECT certificate_pem, chain_pem, private_key_ciphertext FROM certificates "
                   "WHERE domain_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
            use(id), into(rows), now;
        return true;
    });
    if (rows.empty()) throw Error(ErrorCode::NotFound, "no certificate for domain " + domainId);
    const SecretString keyPem = kek.decrypt(rows[0].get<2>());
    const int dirFd = openExportDirectory(outDir);
    // All three or none: a file left from a run that failed halfway (a full disk, a key.pem
    // already there) would refuse the operator's retry until removed by hand.
    std::vector<std::string> written;
    try {
        writeNewFile(dirFd, outDir, "cert.pem", rows[0].get<0>(), 0644);
        written.push_back("cert.pem");
        writeNewFile(dirFd, outDir, "chain.pem", rows[0].get<1>(), 0644);
        written.push_back("chain.pem");
        writeNewFile(dirFd, outDir, "key.pem", keyPem.str(), 0600);
    } catch (...) {
        for (const auto& name : written) ::unlinkat(dirFd, name.c_str(), 0);
        ::close(dirFd);
        throw;
    }
    ::close(dirFd);
}

}  // namespace dnsh
