// What a customer's DNS returns is theirs to choose (README "Limits"): the TXT values a lookup saw
// are capped in number and length before they are stored, shown or sent in a webhook, and bytes
// that are not printable ASCII are shown escaped, so one customer cannot make every domain view,
// list page and webhook payload that carries theirs large, or put terminal escapes in them.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <doctest/doctest.h>

#include <string>

#include "support/database.hpp"
#include "support/domain_flows.hpp"
#include "support/http_client.hpp"
#include "support/sandbox_dns.hpp"

using namespace dnsh::test;

namespace {

// The bound this case holds a domain view to; a list page of 500 then stays under 500 times it.
constexpr std::size_t kViewBound = 4096;

bool printableAscii(const std::string& text) {
    for (const char c : text)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
            return false;
    return true;
}

}  // namespace

TEST_CASE(
    "hostile DNS: 200 TXT values of 251 bytes, control bytes among them, leave a domain view "
    "and a list page bounded and printable") {
    Leftovers leftovers;
    const TestDomain domain = registerDomain("hostile-txt", leftovers);
    SandboxRecords records;  // clears the name when the case ends
    // Each value starts with an ANSI colour escape, a bell and DEL, and is 251 bytes long.
    const std::string hostile = "ctl\x01\x1b[31mred\x07\x7f";
    auto txtValue = [&](int i) {
        const std::string prefix = hostile + std::to_string(i) + "-";
        return prefix + std::string(251 - prefix.size(), 'x');
    };
    records.txt(domain.challengeName(), txtValue(0));
    for (int i = 1; i < 200; ++i) setTxt(domain.challengeName(), txtValue(i));

    // No value is the token: 400 txt_mismatch, and the lookup is what the view's checks show.
    const HttpResult verified = postJson("/domains/" + domain.id + "/verify", "");
    REQUIRE_MESSAGE(verified.status == 400, verified.body);
    CHECK(verified.jsonString("error_code") == "txt_mismatch");
    // The message counts what was there, it does not quote it.
    CHECK(verified.jsonString("error").find("found 200 TXT value(s)") != std::string::npos);
    CHECK(verified.body.size() < 512);

    const HttpResult view = get("/domains/" + domain.id);
    REQUIRE(view.status == 200);
    MESSAGE("domain view: " << view.body.size() << " bytes");
    CHECK(view.body.size() <= kViewBound);
    const auto checks = view.json()->getObject("checks");
    REQUIRE(checks);
    CHECK(checks->getValue<std::string>("result") == "txt_mismatch");
    const auto seen = checks->getArray("seen");
    REQUIRE(seen);
    CHECK(seen->size() >= 1);
    CHECK(seen->size() <= 8);
    // The marker says that what is shown is not all there was.
    CHECK(checks->optValue<bool>("seen_truncated", false));
    CHECK(checks->optValue<int>("seen_total", 0) == 200);
    // Each shown value: at most 100 bytes, printable ASCII, the bytes that were not shown as
    // RFC 1035 §5.1 presentation format escapes (as dig shows them).
    int tooLong = 0, unprintable = 0, notEscaped = 0;
    for (std::size_t i = 0; i < seen->size(); ++i) {
        const std::string value = seen->getElement<std::string>(static_cast<unsigned>(i));
        if (value.size() > 100) ++tooLong;
        if (!printableAscii(value)) ++unprintable;
        if (value.rfind("ctl\\001\\027[31mred\\007\\127", 0) != 0) ++notEscaped;
    }
    CAPTURE(seen->getElement<std::string>(0));
    CHECK(tooLong == 0);
    CHECK(unprintable == 0);
    CHECK(notEscaped == 0);

    // What is stored is what is shown: every list page and webhook payload embeds it.
    const long long stored =
        count("SELECT length(last_check) FROM domains WHERE id = " + quoted(domain.id));
    MESSAGE("stored check: " << stored << " bytes");
    CHECK(stored <= 2048);
    const HttpResult page = get("/domains?limit=500");
    REQUIRE(page.status == 200);
    const auto items = page.json()->getArray("items");
    REQUIRE(items);
    MESSAGE("list page: " << items->size() << " items, " << page.body.size() << " bytes");
    CHECK(page.body.size() <= items->size() * kViewBound);
}
