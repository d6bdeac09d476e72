// tests/bench/instructions: one scheduler turn in a process of its own, so callgrind can count
// it (toggled on IssuanceWorker::runOnce, the worker's loop body: claim a due order, advance it
// one step, give it back). The script makes the order it wants measured due first.
//   scheduler_step           one turn of a worker without the scans; exit 0 when it advanced
//                            an order, 3 when nothing was due
//   scheduler_step --scan    one turn of the worker that scans: the renewal scan and the
//                            renewalInfo scan (each due at a fresh start), then the claim
// Not a product entry point: the scheduler has no one-shot mode.
#include <cstring>
#include <iostream>

#include "config/config.hpp"
#include "domain/outbox.hpp"
#include "issuance/issuer.hpp"
#include "issuance/worker.hpp"

int main(int argc, char** argv) {
    try {
        const bool scan = argc > 1 && std::strcmp(argv[1], "--scan") == 0;
        // As the scheduler starts (scheduler_app.cpp).
        const dnsh::Config config = dnsh::loadConfig();
        dnsh::loadKeyEncryptor(config);
        dnsh::configureOutbox(config);
        dnsh::IssuanceWorker worker(config, "bench-step", scan);
        return worker.runOnce() || scan ? 0 : 3;
    } catch (const std::exception& e) {
        std::cerr << "scheduler_step: " << e.what() << '\n';
        return 1;
    }
}
