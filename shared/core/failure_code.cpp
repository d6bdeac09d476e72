#include "core/failure_code.hpp"

namespace dnsh {

std::string_view toString(FailureCode code) {
    return kFailureCodeNames.toString(code);
}

std::optional<FailureCode> parseFailureCode(std::string_view text) {
    return kFailureCodeNames.parse(text);
}

}  // namespace dnsh
