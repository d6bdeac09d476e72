#include "metrics/exposition_lines.hpp"

#include "core/metric_registry.hpp"

namespace dnsh::exposition_lines {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    out += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double value) {
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "{" + labels + "}".
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    out += formatMetricNumber(value);
    out += '\n';
}

}  // namespace dnsh::exposition_lines
