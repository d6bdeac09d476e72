#pragma once
// pebble-challtestsrv's management API (SANDBOX_DNS_API): publish and break DNS for a test.
// Host names are given without the trailing dot; these add it (challtestsrv requires it).
#include <string>

namespace dnsh::test {

void setTxt(const std::string& host, const std::string& value);  // adds a value
void clearTxt(const std::string& host);                          // removes all values
void setCname(const std::string& host, const std::string& target);
void clearCname(const std::string& host);
void setServfail(const std::string& host);
void clearServfail(const std::string& host);

}  // namespace dnsh::test
