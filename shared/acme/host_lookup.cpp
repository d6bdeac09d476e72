#include "acme/host_lookup.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

namespace dnsh {

namespace {

// Shared by the caller and the lookup's thread: whichever ends last frees it.
struct Lookup {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<Poco::Net::IPAddress> address;
    std::exception_ptr failure;
};

// The lookup's thread: its outcome into `lookup`, whether or not the caller still waits.
void lookUp(std::shared_ptr<Lookup> lookup, std::string host) {
    std::optional<Poco::Net::IPAddress> address;
    std::exception_ptr failure;
    try {
        // The address Poco's own connect would use (its choice between IPv4 and IPv6).
        address = Poco::Net::SocketAddress(host, 0).host();
    } catch (...) {
        failure = std::current_exception();
    }
    const std::lock_guard<std::mutex> lock(lookup->mutex);
    lookup->address = std::move(address);
    lookup->failure = failure;
    lookup->done.notify_one();
}

}  // namespace

Poco::Net::IPAddress lookUpHostBy(const std::string& host,
                                  std::chrono::steady_clock::time_point deadline) {
    Poco::Net::IPAddress literal;
    if (Poco::Net::IPAddress::tryParse(host, literal)) return literal;
    if (std::chrono::steady_clock::now() >= deadline)
        throw Poco::TimeoutException("the time budget is spent");
    auto lookup = std::make_shared<Lookup>();
    std::thread thread;
    try {
        thread = std::thread(lookUp, lookup, host);
    } catch (const std::system_error& e) {
        // No thread to be had (TasksMax, RLIMIT_NPROC): a network failure of this request, as
        // its callers treat one (the CA unreachable, the attempt retried), not an internal error.
        throw Poco::IOException("no thread to look up " + host + ": " + e.what());
    }
    thread.detach();
    std::unique_lock<std::mutex> lock(lookup->mutex);
    if (!lookup->done.wait_until(lock, deadline,
                                 [&] { return lookup->address || lookup->failure; }))
        throw Poco::TimeoutException("no address for " + host + " in time");
    if (lookup->failure) std::rethrow_exception(lookup->failure);
    return *lookup->address;
}

}  // namespace dnsh
