#include "db/background_connect.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace dnsh {

struct BackgroundConnect::Shared {
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    PGconn* connection = nullptr;  // until taken; a connection nobody took is closed with it
    ~Shared() {
        if (connection != nullptr) PQfinish(connection);
    }
};

BackgroundConnect::BackgroundConnect(const std::string& keyValue)
    : shared_(std::make_shared<Shared>()) {
    std::thread([shared = shared_, keyValue] {
        PGconn* connection = PQconnectdb(keyValue.c_str());
        const std::lock_guard<std::mutex> lock(shared->mutex);
        shared->connection = connection;
        shared->finished = true;
        shared->done.notify_all();
    }).detach();
}

PgConnection BackgroundConnect::takeBy(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(shared_->mutex);
    if (!shared_->done.wait_until(lock, deadline, [&] { return shared_->finished; }))
        return PgConnection(nullptr, &PQfinish);
    PgConnection taken(shared_->connection, &PQfinish);
    shared_->connection = nullptr;
    return taken;
}

}  // namespace dnsh
