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

std::string tableCounts() {
    return scalar(
        "SELECT concat_ws(',', (SELECT count(*) FROM domains), "
        "(SELECT count(*) FROM domains WHERE status <> 'pending'), "
        "(SELECT count(*) FROM acme_orders), (SELECT count(*) FROM certificates), "
        "(SELECT max(updated_at) FROM domains))");
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
        const std::string before = tableCounts();
        const HttpResult reply = sendRaw(baseUrl(), request.method, expand(request.path, id),
                                         request.contentType, expand(request.body, id));
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
        CHECK(tableCounts() == before);
        // The handler that saw it still serves.
        CHECK(get("/domains/" + id).status == 200);
    }
}
