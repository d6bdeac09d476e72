#include "acme/http_deadline.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <algorithm>

namespace dnsh {

void limitWaits(Poco::Net::HTTPClientSession& session, bool tls,
                std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw Poco::TimeoutException("the time budget is spent");
    const Poco::Timespan wait(std::max<long long>(tls ? left.count() / 2 : left.count(), 1000));
    session.setTimeout(wait);  // read when connecting
    if (session.connected()) {
        session.socket().setReceiveTimeout(wait);
        session.socket().setSendTimeout(wait);
    }
}

}  // namespace dnsh
