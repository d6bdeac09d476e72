#pragma once
// The lines of the text exposition format 0.0.4 that every family is written with: HELP and TYPE,
// then one sample a line. Shared by exposition.cpp (the state gauges) and
// counter_exposition.cpp (the stored counters); not for use outside them.
#include <string>
#include <string_view>

namespace dnsh::exposition_lines {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help);

void sample(std::string& out, const std::string& name, const std::string& labels, double value);

}  // namespace dnsh::exposition_lines
