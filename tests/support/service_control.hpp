#pragma once
// Stops and starts one service of the running test stack (deploy/lib/service-control): the
// fault and edge tests' outages are real ones.
#include <string>

namespace dnsh::test {

// service-control stop|start postgres|pebble|lighttpd; throws when it fails.
void serviceControl(const std::string& action, const std::string& service);

// A service of the test stack this case stops; started again at the latest when the case ends.
class StoppableService {
public:
    explicit StoppableService(std::string name) : name_(std::move(name)) {}
    StoppableService(const StoppableService&) = delete;
    StoppableService& operator=(const StoppableService&) = delete;
    ~StoppableService();
    void stop();
    void start();

private:
    std::string name_;
    bool stopped_ = false;
};

}  // namespace dnsh::test
