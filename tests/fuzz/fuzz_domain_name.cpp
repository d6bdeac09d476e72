// Name normalisation: any input ends in a valid normalised name or Error(BadRequest); a result
// is stable (normalising it again changes nothing) and short enough that its challenge name is
// within RFC 1035 limits (at most 233 characters after a wildcard's "*.").
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "domain/domain_name.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    try {
        const std::string name = dnsh::normalizeDomainName(input);
        if (name.empty() || dnsh::baseDomain(name).size() > 233) __builtin_trap();
        if (dnsh::challengeName(name).size() > 253) __builtin_trap();
        if (dnsh::normalizeDomainName(name) != name) __builtin_trap();
    } catch (const dnsh::Error& e) {
        if (e.code() != dnsh::ErrorCode::BadRequest) __builtin_trap();
    }
    return 0;
}
