#include "dnsh_admin_usage.hpp"

#include <algorithm>
#include <iostream>
#include <string_view>

namespace dnsh_admin {

namespace {

// The options that only some commands take, by the property their binding sets (the bindings of
// AdminApplication::defineOptions, tools/dnsh_admin.cpp).
// takesValue: it is given a value (--out DIR), which must not be empty.
struct CommandOption {
    std::string_view name;
    std::string_view property;
    bool takesValue;
};
constexpr CommandOption kCommandOptions[] = {
    {"out", "admin.out", true},
    {"new-key-file", "admin.newKeyFile", true},
    {"status", "admin.status", true},
    {"expiring-within", "admin.expiringWithin", true},
    {"long-lived", "admin.longLived", false},
    {"renewal-failing", "admin.renewalFailing", false},
    {"json", "admin.json", false},
    {"all", "admin.all", false},
};

// What a command takes: the words after it and the options. Anything else is bad usage, refused
// before anything runs: an ignored word made `rotate-kek FILE` (without --new-key-file) re-seal
// under the current KEK and report success, and `list failed` list every domain.
struct CommandUsage {
    std::string_view name;
    std::size_t fewestWords;
    std::size_t mostWords;
    std::vector<std::string_view> options;
    std::string_view usage;
};
const std::vector<CommandUsage> kCommandUsages = {
    {"migrate", 0, 0, {}, "migrate"},
    {"list", 0, 0, {"status", "expiring-within", "long-lived", "renewal-failing", "json"},
     "list [--status S] [--expiring-within 30d] [--long-lived] [--renewal-failing] [--json]"},
    {"show", 1, 1, {"json"}, "show DOMAIN_ID [--json]"},
    {"renew", 1, 1, {}, "renew DOMAIN_ID"},
    {"ari-refresh", 0, 1, {"all", "json"}, "ari-refresh DOMAIN_ID|--all [--json]"},
    {"retry", 1, 1, {"json"}, "retry DOMAIN_ID [--json]"},
    {"delete", 1, 1, {}, "delete DOMAIN_ID"},
    {"export-cert", 1, 1, {"out"}, "export-cert DOMAIN_ID --out DIR"},
    {"rotate-kek", 0, 0, {"new-key-file"}, "rotate-kek [--new-key-file FILE]"},
    {"handler-procs", 0, 0, {}, "handler-procs"},
    {"host-check", 0, 0, {}, "host-check"},
};

}  // namespace

bool usageFits(const std::vector<std::string>& arguments,
               const Poco::Util::AbstractConfiguration& options) {
    const std::string& command = arguments[0];
    const auto usage =
        std::find_if(kCommandUsages.begin(), kCommandUsages.end(),
                     [&](const CommandUsage& known) { return known.name == command; });
    if (usage == kCommandUsages.end()) {
        std::cerr << "unknown command: " << command << " (try --help)\n";
        return false;
    }
    bool fits = true;
    const std::size_t words = arguments.size() - 1;
    if (words > usage->mostWords) {
        std::cerr << "dnsh-admin " << command << ": unexpected argument "
                  << arguments[usage->mostWords + 1] << "\n";
        fits = false;
    } else if (words < usage->fewestWords) {
        fits = false;
    }
    for (const CommandOption& option : kCommandOptions) {
        const std::string property(option.property);
        if (!options.hasProperty(property)) continue;
        if (std::find(usage->options.begin(), usage->options.end(), option.name) ==
            usage->options.end()) {
            std::cerr << "dnsh-admin " << command << ": --" << option.name
                      << " does not apply to it\n";
            fits = false;
        } else if (option.takesValue && options.getString(property).empty()) {
            // Poco takes --new-key-file= (or a variable that is unset: --new-key-file "$F")
            // as an empty value, which the commands read as no option: rotate-kek re-sealed
            // under the current KEK with exit 0, and `list --status ""` listed every domain.
            std::cerr << "dnsh-admin " << command << ": --" << option.name
                      << " was given an empty value\n";
            fits = false;
        }
    }
    if (!fits) std::cerr << "usage: dnsh-admin " << usage->usage << "\n";
    return fits;
}

const char* commandsHelp() {
    return "Operator commands for DNS Handling (settings from the environment, see README).\n"
           "Commands:\n"
           "  migrate                            apply the schema migrations to DATABASE_URL\n"
           "  list [--status S] [--expiring-within 30d] [--long-lived] [--json]\n"
           "                                     every domain by soonest certificate expiry;\n"
           "                                     --long-lived: lifetimes over 21 days only\n"
           "  list --renewal-failing [--json]    the domains whose certificate a renewal failed\n"
           "                                     to replace, by id; --json gives renewal_error\n"
           "                                     and renewal_error_code\n"
           "  show DOMAIN_ID [--json]            the domain view, as GET /domains/{id}\n"
           "  renew DOMAIN_ID                    renew the certificate now, whatever renew_at\n"
           "  ari-refresh DOMAIN_ID|--all [--json]\n"
           "                                     ask the CA's renewalInfo (RFC 9773) again now;\n"
           "                                     a window that has opened renews at once\n"
           "  retry DOMAIN_ID [--json]           a fresh order for a failed domain, at once:\n"
           "                                     only a CA's rate-limit wait holds it (exit 75)\n"
           "  delete DOMAIN_ID                   as DELETE /domains/{id}\n"
           "  export-cert DOMAIN_ID --out DIR    write cert.pem, chain.pem and key.pem (0600)\n"
           "  rotate-kek                         re-encrypt every private key under the first\n"
           "                                     file of KEY_ENCRYPTION_KEY_FILE (see README)\n"
           "  rotate-kek --new-key-file FILE     ... under FILE instead; then make FILE the\n"
           "                                     first of KEY_ENCRYPTION_KEY_FILE\n"
           "  handler-procs                      processes for each handler that only reads\n"
           "                                     PostgreSQL: DNSH_READ_HANDLER_PROCS, else\n"
           "                                     DNSH_HANDLER_PROCS, else the cores (fewer\n"
           "                                     under a cgroup CPU limit) when DATABASE_URL\n"
           "                                     is on this host, else 4\n"
           "                                     (README \"Configuration\")\n"
           "  host-check                         warn (stderr) of settings of this host that\n"
           "                                     hurt the service; start-api runs it\n"
           "                                     (README \"Running in production\")";
}

}  // namespace dnsh_admin
