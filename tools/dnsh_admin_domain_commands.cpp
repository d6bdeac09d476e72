// dnsh-admin list, show, renew, retry and delete: the commands on domains.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "admin/domain_list.hpp"
#include "admin/renew_now.hpp"
#include "config/duration.hpp"
#include "dns/resolver.hpp"
#include "dnsh_admin_commands.hpp"
#include "dnsh_admin_json_array.hpp"
#include "dnsh_admin_stdout.hpp"
#include "domain/domain_json.hpp"
#include "domain/domain_service.hpp"
#include "issuance/issuance_json.hpp"
#include "issuance/issuer.hpp"

namespace dnsh_admin {

namespace {

// The longest --expiring-within in days: parseDuration's 876000h. Past it, "1000000000000d"
// reached PostgreSQL ("interval out of range", exit 70), and near 4e17 days 24 * days overflowed.
constexpr long long kLongestWithinDays =
    std::chrono::duration_cast<std::chrono::days>(dnsh::kLongestDuration).count();

// "30d" (days, at most kLongestWithinDays), or a duration of the README ("12h", "90m").
std::chrono::milliseconds parseWithin(const std::string& text) {
    if (text.size() > 1 && text.back() == 'd' &&
        text.find_first_not_of("0123456789") == text.size() - 1) {
        const char* const digitsEnd = text.data() + text.size() - 1;
        unsigned long long days = 0;
        const auto [end, error] = std::from_chars(text.data(), digitsEnd, days);
        if (error == std::errc::result_out_of_range ||
            (error == std::errc() && days > kLongestWithinDays))
            throw std::invalid_argument("longer than " + std::to_string(kLongestWithinDays) +
                                        "d (100 years)");
        if (error != std::errc() || end != digitsEnd)
            throw std::invalid_argument("expected a number of days, e.g. 30d");
        return std::chrono::days(days);
    }
    return dnsh::parseDuration(text);
}

}  // namespace

int list(dnsh::Database& database, const Poco::Util::AbstractConfiguration& options) {
    dnsh::DomainListFilter filter;
    filter.status = options.getString("admin.status", "");
    if (!filter.status.empty() && !dnsh::parseDomainStatus(filter.status)) {
        std::cerr << "unknown status " << filter.status << "\n";
        return EXIT_USAGE;
    }
    if (options.hasProperty("admin.expiringWithin")) {
        try {
            filter.expiringWithin = parseWithin(options.getString("admin.expiringWithin"));
        } catch (const std::exception& e) {
            std::cerr << "--expiring-within: " << e.what() << "\n";
            return EXIT_USAGE;
        }
    }
    filter.longLived = options.hasProperty("admin.longLived");
    filter.renewalFailing = options.hasProperty("admin.renewalFailing");
    // Every row, printed as its page comes (forEachDomainSummary): memory stays bounded
    // and the JSON array is written one item at a time. Stopped once stdout fails (exit 74).
    if (json(options)) {
        JsonArrayOnStdout items;
        auto optional = [](const std::optional<std::string>& text) {
            return text ? Poco::Dynamic::Var(*text) : Poco::Dynamic::Var();
        };
        dnsh::forEachDomainSummary(database, filter, [&](const auto& row) {
            Poco::JSON::Object item(Poco::JSON_PRESERVE_KEY_ORDER);
            item.set("id", row.id);
            item.set("domain_name", row.domainName);
            item.set("status", row.status);
            item.set("expires_at", row.expiresAt.empty() ? Poco::Dynamic::Var()
                                                         : Poco::Dynamic::Var(row.expiresAt));
            item.set("renew_at", row.renewAt.empty() ? Poco::Dynamic::Var()
                                                     : Poco::Dynamic::Var(row.renewAt));
            // The renewal that last failed to replace the certificate, as GET /domains/{id}
            // shows it in renewal.error and renewal.error_code.
            item.set("renewal_error", optional(row.renewalError));
            item.set("renewal_error_code", optional(row.renewalErrorCode));
            items.add(item);
            throwIfStdoutFailed();
        });
        items.close();
        return EXIT_OK;
    }
    std::cout << std::left << std::setw(34) << "ID" << std::setw(40) << "DOMAIN"
              << std::setw(21) << "STATUS" << std::setw(22) << "EXPIRES"
              << "RENEWS\n";
    dnsh::forEachDomainSummary(database, filter, [](const auto& row) {
        std::cout << std::setw(34) << row.id << std::setw(40) << row.domainName << std::setw(21)
                  << row.status << std::setw(22)
                  << (row.expiresAt.empty() ? "-" : row.expiresAt)
                  << (row.renewAt.empty() ? "-" : row.renewAt) << "\n";
        throwIfStdoutFailed();
    });
    return EXIT_OK;
}

int show(dnsh::Database& database, const dnsh::Config& config,
         const Poco::Util::AbstractConfiguration& options,
         const std::vector<std::string>& arguments) {
    const auto view = dnsh::domainJson(dnsh::findDomain(database, arguments[1]),
                                       dnsh::viewSettings(database, config));
    if (json(options)) {
        std::cout << view;
    } else {
        // Indented for people, keys in the API's order.
        Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
        parser.parse(view).extract<Poco::JSON::Object::Ptr>()->stringify(std::cout, 2);
    }
    std::cout << "\n";
    return EXIT_OK;
}

int renew(dnsh::Database& database, const std::vector<std::string>& arguments) {
    dnsh::renewNow(database, arguments[1]);
    std::cout << "renewal of " << arguments[1] << " starts at the scheduler's next scan\n";
    return EXIT_OK;
}

// retry and delete go through the issuer, as the API's handlers do.
int issuerCommand(dnsh::Database& database, const dnsh::Config& config,
                  const Poco::Util::AbstractConfiguration& options,
                  const std::vector<std::string>& arguments) {
    const dnsh::DnsResolver resolver = dnsh::DnsResolver::fromConfig(config);
    dnsh::Issuer issuer(database, config, resolver, dnsh::CaCaller::Scheduler);
    if (arguments[0] == "delete") {
        issuer.deleteDomain(arguments[1]);
        std::cout << "deleted " << arguments[1] << "\n";
        return EXIT_OK;
    }
    // The operator's retry: the backoff after failures does not hold it back.
    const auto started = issuer.start(arguments[1], dnsh::IssueRequester::Operator);
    if (json(options)) {
        dnsh::issuanceJson(started)->stringify(std::cout);
        std::cout << "\n";
    } else {
        std::cout << "order " << started.orderId << " placed: "
                  << dnsh::issuanceJson(started)->getValue<std::string>("instructions") << "\n";
    }
    return EXIT_OK;
}

}  // namespace dnsh_admin
