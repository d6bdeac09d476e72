// Request bodies are attacker-controlled: parsing must end in an object or Error(BadRequest),
// never a crash, a hang or another exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "domain/domain_name.hpp"
#include "http/json_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    try {
        const auto object = dnsh::parseJsonObject(body);
        const std::string name = dnsh::requireStringField(object, "domain_name");
        dnsh::normalizeDomainName(name);
    } catch (const dnsh::Error& e) {
        if (e.code() != dnsh::ErrorCode::BadRequest) __builtin_trap();
    }
    return 0;
}
