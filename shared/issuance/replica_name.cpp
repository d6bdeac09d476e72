#include "issuance/replica_name.hpp"

#include <Poco/Environment.h>
#include <Poco/Process.h>

#include "crypto/random.hpp"

namespace dnsh {

std::string newReplicaName() {
    return Poco::Environment::nodeName() + ":" + std::to_string(Poco::Process::id()) + ":" +
           randomHex(4);
}

}  // namespace dnsh
