#include "support/service_control.hpp"

#include <cstdlib>
#include <stdexcept>

#include "support/test_env.hpp"

namespace dnsh::test {

void serviceControl(const std::string& action, const std::string& service) {
    const std::string command = requireEnv("DNSH_SERVICE_CONTROL") + " " + action + " " + service;
    const int status = std::system(command.c_str());
    if (status != 0) throw std::runtime_error(command + " failed with " + std::to_string(status));
}

StoppableService::~StoppableService() {
    try {
        start();
    } catch (...) {
        // Nothing more to do here; the next case will notice.
    }
}

void StoppableService::stop() {
    stopped_ = true;
    serviceControl("stop", name_);
}

void StoppableService::start() {
    if (!stopped_) return;
    serviceControl("start", name_);
    stopped_ = false;
}

}  // namespace dnsh::test
