// Every request of tests/hostile/requests.tsv, sent raw through lighttpd: each must get a 4xx
// JSON answer with an error message, leave the database as it was, and leave the handlers able
// to serve the next request.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "support/database.hpp"
#include "support/http_client.hpp"
#include "support/raw_http.hpp"
#include "support/test_env.hpp"

using namespace dnsh::test;

namespace {

struct HostileRequest {
    std::string description, method, path, contentType, body;
    int expectedStatus = 0;  // 0: any 4xx
};

// {{X*N}} repeats X N times; \xNN is a raw byte; {id} is a real domain's id.
std::string expand(const std::string& text, const std::string& id) {
    static const std::regex repeat(R"(\{\{(.+?)\*(\d+)\}\})");
    std::string out;
    std::sregex_iterator it(text.begin(), text.end(), repeat), end;
    std::size_t last = 0;
    for (; it != end; ++it) {
        out += text.substr(last, static_cast<std::size_t>(it->position()) - last);
        for (int i = 0; i < std::stoi((*it)[2]); ++i) out += (*it)[1];
        last = static_cast<std::size_t>(it->position() + it->length());
    }
    out += text.substr(last);
    std::string bytes;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out.compare(i, 2, "\\x") == 0 && i + 3 < out.size() && std::isxdigit(out[i + 2]) &&
            std::isxdigit(out[i + 3])) {
            bytes.push_back(static_cast<char>(std::stoi(out.substr(i + 2, 2), nullptr, 16)));
            i += 3;
        } else {
            bytes.push_back(out[i]);
        }
    }
    const std::string placeholder = "{id}";
    for (std::size_t at; (at = bytes.find(placeholder)) != std::string::npos;)
        bytes.replace(at, placeholder.size(), id);
    return bytes;
}

std::vector<HostileRequest> loadCorpus() {
    std::ifstream file(DNSH_SOURCE_DIR "/tests/hostile/requests.tsv");
    REQUIRE(file.good());
    std::vector<HostileRequest> requests;
    std::string line;
    while (std::getline(file, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        std::stringstream stream(line);
        std::string field;
        while (std::getline(stream, field, '\t')) fields.push_back(field);
        while (fields.size() < 6) fields.emplace_back();
        requests.push_back({fields[0], fields[1], fields[2], fields[3], fields[4],
                            fields[5].empty() ? 0 : std::stoi(fields[5])});
    }
    return requests;
}

// Everything a request could have changed about the real domain it may name: its row (status,
// timestamps, last check) and its orders and certificates.
std::string domainSnapshot(const std::string& id) {
    return scalar(
        "SELECT concat_ws('|', d.status, d.error, d.verified_at, d.updated_at, "
        "d.last_check, (SELECT count(*) FROM acme_orders o WHERE o.domain_id = d.id), "
        "(SELECT count(*) FROM certificates c WHERE c.domain_id = d.id)) "
        "FROM domains d WHERE d.id = " +
        quoted(id));
}

// Names of the domains registered since `since` that the request's bytes mention: a hostile
// request that slipped through would have registered one of them. (Other cases' domains have
// random names no corpus line contains.)
std::vector<std::string> registeredFrom(const std::string& since, const std::string& bytes) {
    std::string lower = bytes;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::vector<std::string> names;
    std::istringstream rows(
        scalar("SELECT string_agg(domain_name, E'\\n') FROM domains WHERE "
               "created_at >= " +
               quoted(since) + "::timestamptz"));
    for (std::string name; std::getline(rows, name);)
        if (!name.empty() && lower.find(name) != std::string::npos) names.push_back(name);
    return names;
}

}  // namespace

TEST_CASE("hostile input: every corpus request gets a 4xx JSON error and changes nothing") {
    const auto created =
        postJson("/domains", R"({"domain_name":")" + uniqueDomainName("hostile") + "\"}");
    REQUIRE(created.status == 201);
    const std::string id = created.jsonString("id");
    const auto corpus = loadCorpus();
    REQUIRE(corpus.size() >= 60);

    for (const auto& request : corpus) {
        CAPTURE(request.description);
        const std::string before = domainSnapshot(id);
        const std::string since = scalar("SELECT clock_timestamp()");
        // RAW: the path column is the whole request (request line, headers, body), for hostile
        // framing: chunked bodies, lying Content-Length, oversized headers.
        const std::string path = expand(request.path, id), body = expand(request.body, id);
        const HttpResult reply = request.method == "RAW" ? sendRawRequest(baseUrl(), path)
                                                         : sendRaw(baseUrl(), request.method, path,
                                                                   request.contentType, body);
        if (request.expectedStatus != 0) {
            CHECK(reply.status == request.expectedStatus);
        } else {
            CHECK(reply.status >= 400);
            CHECK(reply.status < 500);
        }
        CHECK(reply.header("content-type").rfind("application/json", 0) == 0);
        bool hasError = false;
        try {
            hasError = !reply.jsonString("error").empty();
        } catch (const std::exception&) {
        }
        CHECK_MESSAGE(hasError, "body: " << reply.body.substr(0, 200));
        CHECK(domainSnapshot(id) == before);
        CHECK(registeredFrom(since, path + body).empty());
        // The handler that saw it still serves.
        CHECK(get("/domains/" + id).status == 200);
    }
}
