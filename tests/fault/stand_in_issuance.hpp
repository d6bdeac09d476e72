#pragma once
// An issue order taken through the stand-in CA (tests/support/stalled_ca.py --stall none), for
// ca_protocol_test.cpp and ca_issuing_test.cpp: issue-certificate, the value published, a
// scheduler on the order, and the stand-in's request times read apart.
#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/api_server.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/scheduler_process.hpp"

namespace dnsh::test {

inline HttpRequest issueRequest(const TestDomain& domain) {
    return {"POST", "/domains/" + domain.id + "/issue-certificate", "", "application/json", {}};
}

// The times of the requests at or after `from`.
inline std::vector<double> since(const std::vector<double>& times, double from) {
    std::vector<double> later;
    std::copy_if(times.begin(), times.end(), std::back_inserter(later),
                 [&](double t) { return t >= from; });
    return later;
}

// issue-certificate through an API server with `env` (pointed at the CA), the value published,
// and a scheduler started with `env` to take the order on.
inline std::unique_ptr<SchedulerProcess> startIssuance(
    const TestDomain& domain, const std::map<std::string, std::string>& env) {
    ApiServer api("ca-protocol", env);
    const HttpResult started = send(api.baseUrl(), issueRequest(domain));
    REQUIRE_MESSAGE(started.status == 202, started.body);
    publish(domain, started.jsonString("expected_txt_value"));
    return startScheduler(env);
}

}  // namespace dnsh::test
