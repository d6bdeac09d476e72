#include <iostream>

#include "config/config.hpp"
#include "core/process_hardening.hpp"
#include "scheduler_app.hpp"

int main(int argc, char** argv) {
    try {
        // Before anything reads the KEK; --daemon's fork keeps it.
        dnsh::disableCoreDumps();
        dnsh::SchedulerApp app;
        return app.run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "dns-scheduler: " << e.what() << std::endl;
        return 1;
    }
}
