// The error_code values the documents give are the ones the service answers with: the lists of
// deploy/api/openapi.json (Error.error_code) and of README ("`error_code` values") name every
// code of kFailureCodeNames and nothing else, every example error_code of the document is one of
// them, and verify's responses show and name each code under the status verify answers it with
// (verifyFailureStatus). Each check first runs on a copy with a planted mistake and must report
// it: a check that found nothing would pass here.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/failure_code.hpp"
#include "dns/lookup_outcome.hpp"
#include "dns/txt_check.hpp"
#include "domain/domain_service.hpp"
#include "http/response.hpp"

using namespace dnsh;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

std::string sourceText(const std::string& path) {
    std::ifstream file(DNSH_SOURCE_DIR "/" + path);
    REQUIRE_MESSAGE(file.good(), "cannot read " << path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "nothing to plant the mistake in: " << from);
    return text.replace(at, from.size(), to);
}

Object::Ptr parsedObject(const std::string& json) {
    return Poco::JSON::Parser().parse(json).extract<Object::Ptr>();
}

// `object`'s member `key`, an object; the test stops when the document has no such member.
Object::Ptr member(const Object::Ptr& object, const std::string& key) {
    Object::Ptr found = object->getObject(key);
    REQUIRE_MESSAGE(found, "openapi.json has no object \"" << key << "\" there");
    return found;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string all;
    for (const auto& line : lines) all += line + "\n";
    return all;
}

// The codes between backticks in `text`: `txt_not_found` is one, `POST /domains` is not.
std::set<std::string> backtickedCodes(const std::string& text) {
    static const std::regex code("`([a-z][a-z0-9_]*)`");
    std::set<std::string> found;
    for (std::sregex_iterator it(text.begin(), text.end(), code), end; it != end; ++it)
        found.insert((*it)[1]);
    return found;
}

// `code` stands in `text` as a word of its own (not part of a longer code).
bool names(const std::string& text, const std::string& code) {
    return std::regex_search(text, std::regex("(^|[^a-z0-9_])" + code + "($|[^a-z0-9_])"));
}

// What `listed` (the list of `where`) gets wrong against kFailureCodeNames.
std::vector<std::string> listDifferences(const std::set<std::string>& listed,
                                         const std::string& where) {
    std::vector<std::string> found;
    for (const auto& [code, name] : kFailureCodeNames.names)
        if (listed.count(std::string(name)) == 0)
            found.push_back(where + " lacks " + std::string(name));
    for (const auto& name : listed)
        if (!parseFailureCode(name))
            found.push_back(where + " names " + name + ", no code of ours");
    return found;
}

std::set<std::string> openApiListedCodes(const Object::Ptr& document) {
    const Object::Ptr errorCode = member(
        member(member(member(member(document, "components"), "schemas"), "Error"), "properties"),
        "error_code");
    return backtickedCodes(errorCode->optValue<std::string>("description", ""));
}

// README's list: the bullets after the line starting "`error_code` values", each naming its
// codes before its first ": " (what follows explains them).
std::set<std::string> readmeListedCodes(const std::string& readme) {
    std::istringstream lines(readme);
    std::string line;
    while (std::getline(lines, line) && line.rfind("`error_code` values", 0) != 0) {
    }
    REQUIRE_MESSAGE(lines.good(), "README has no line starting with `error_code` values");
    std::set<std::string> codes;
    bool inList = false;
    while (std::getline(lines, line)) {
        if (line.rfind("- ", 0) == 0) {
            inList = true;
            const std::set<std::string> named = backtickedCodes(line.substr(0, line.find(": ")));
            codes.insert(named.begin(), named.end());
        } else if (inList && line.rfind("  ", 0) != 0) {
            break;  // the first line neither a bullet nor its continuation ends the list
        }
    }
    return codes;
}

// Every string "error_code" member anywhere in `node` (the examples), with where it stands.
void collectErrorCodes(const Poco::Dynamic::Var& node, const std::string& at,
                       std::vector<std::pair<std::string, std::string>>& found) {
    if (node.type() == typeid(Object::Ptr)) {
        const Object::Ptr object = node.extract<Object::Ptr>();
        for (const auto& [key, value] : *object) {
            if (key == "error_code" && value.isString())
                found.emplace_back(at, value.extract<std::string>());
            else
                collectErrorCodes(value, at + "/" + key, found);
        }
    } else if (node.type() == typeid(Array::Ptr)) {
        const Array::Ptr array = node.extract<Array::Ptr>();
        for (std::size_t i = 0; i < array->size(); ++i)
            collectErrorCodes(array->get(i), at + "/" + std::to_string(i), found);
    }
}

std::vector<std::string> unknownExampleCodes(const Object::Ptr& document) {
    std::vector<std::pair<std::string, std::string>> codes;
    collectErrorCodes(Poco::Dynamic::Var(document), "", codes);
    REQUIRE_MESSAGE(!codes.empty(), "openapi.json has no example with an error_code");
    std::vector<std::string> found;
    for (const auto& [at, code] : codes)
        if (!parseFailureCode(code)) found.push_back(at + ": " + code + " is no code of ours");
    return found;
}

// The codes a response's examples show ("example", or each of "examples"), per media type.
std::set<std::string> exampleCodes(const Object::Ptr& response) {
    std::set<std::string> codes;
    const Object::Ptr content = response->getObject("content");
    if (!content) return codes;
    auto add = [&](const Object::Ptr& example) {
        if (example && example->has("error_code"))
            codes.insert(example->getValue<std::string>("error_code"));
    };
    for (const auto& [mediaType, value] : *content) {
        const Object::Ptr media = value.extract<Object::Ptr>();
        add(media->getObject("example"));
        if (const Object::Ptr examples = media->getObject("examples"))
            for (const auto& [name, example] : *examples)
                add(example.extract<Object::Ptr>()->getObject("value"));
    }
    return codes;
}

// What a failed verify can answer: its TXT check's failures (txtFailure, for every lookup
// outcome, with the value there and missing) and a CNAME into the delegation zone with another
// label (domain_service.cpp, verifyDomain).
std::set<FailureCode> verifyFailures() {
    std::set<FailureCode> failures{FailureCode::CnameMismatch};
    for (const auto& [outcome, name] : kLookupOutcomeNames.names)
        for (const std::size_t missing : {std::size_t{0}, std::size_t{1}})
            if (const auto failure = txtFailure(outcome, missing)) failures.insert(*failure);
    return failures;
}

std::string verifyStatus(FailureCode failure) {
    return std::to_string(httpStatus(verifyFailureStatus(failure)));
}

// Verify's responses against the code: each example's code is one verify answers with that
// status, and each code it answers with is named (description or example) under its status.
std::vector<std::string> verifyDifferences(const Object::Ptr& document) {
    const Object::Ptr responses = member(
        member(member(member(document, "paths"), "/domains/{id}/verify"), "post"), "responses");
    const std::set<FailureCode> failures = verifyFailures();
    std::vector<std::string> found;
    for (const auto& [status, value] : *responses) {
        for (const auto& code : exampleCodes(value.extract<Object::Ptr>())) {
            const auto failure = parseFailureCode(code);
            if (!failure || failures.count(*failure) == 0)
                found.push_back("verify's " + status + " shows " + code + ", never verify's");
            else if (verifyStatus(*failure) != status)
                found.push_back("verify's " + status + " shows " + code + ", which verify answers"
                                " with " + verifyStatus(*failure));
        }
    }
    for (const FailureCode failure : failures) {
        const std::string code(toString(failure));
        const std::string status = verifyStatus(failure);
        const Object::Ptr response = responses->getObject(status);
        if (!response) {
            found.push_back("verify documents no " + status + ", its answer with " + code);
            continue;
        }
        if (!names(response->optValue<std::string>("description", ""), code) &&
            exampleCodes(response).count(code) == 0)
            found.push_back("verify's " + status + " does not name " + code);
    }
    return found;
}

}  // namespace

TEST_CASE("error_code docs: openapi.json and README list every code of ours and no other") {
    const std::string openApi = sourceText("deploy/api/openapi.json");
    const std::string readme = sourceText("README.md");

    // Planted: a code left out, one that nothing answers with put in.
    const std::string plantedOpenApi = replaced(openApi, "`ca_account`, ", "`cname_not_found`, ");
    const std::string plantedReadme = replaced(readme, "- `ca_account`:", "- `cname_not_found`:");
    for (const auto& planted : {listDifferences(openApiListedCodes(parsedObject(plantedOpenApi)),
                                                "openapi.json"),
                                listDifferences(readmeListedCodes(plantedReadme), "README")}) {
        const std::string all = joined(planted);
        CAPTURE(all);
        CHECK(all.find(" lacks ca_account") != std::string::npos);
        CHECK(all.find(" names cname_not_found") != std::string::npos);
    }

    const auto inOpenApi = listDifferences(openApiListedCodes(parsedObject(openApi)),
                                           "openapi.json (components.schemas.Error.error_code)");
    CAPTURE(joined(inOpenApi));
    CHECK(inOpenApi.empty());
    const auto inReadme = listDifferences(readmeListedCodes(readme), "README");
    CAPTURE(joined(inReadme));
    CHECK(inReadme.empty());
}

TEST_CASE("error_code docs: every example error_code of openapi.json is a code of ours") {
    const std::string openApi = sourceText("deploy/api/openapi.json");
    // Planted: one example's code that nothing answers with.
    const auto planted = unknownExampleCodes(parsedObject(replaced(
        openApi, R"("error_code": "ca_unreachable")", R"("error_code": "cname_not_found")")));
    CAPTURE(joined(planted));
    CHECK(planted.size() == 1);

    const auto found = unknownExampleCodes(parsedObject(openApi));
    CAPTURE(joined(found));
    CHECK(found.empty());
}

TEST_CASE("error_code docs: verify's responses put each code under the status verify answers") {
    const std::string openApi = sourceText("deploy/api/openapi.json");

    // Planted: the document as it was, txt_not_found shown under 400 (verify answers it with
    // 424), and a 424 naming only the failed lookups, in words.
    const Object::Ptr planted =
        parsedObject(replaced(openApi, R"("error_code": "txt_mismatch")",
                              R"("error_code": "txt_not_found")"));
    Object::Ptr failedDependency = member(
        member(member(member(member(planted, "paths"), "/domains/{id}/verify"), "post"),
               "responses"),
        "424");
    failedDependency->set("description",
                          "The DNS lookup failed (timeout, SERVFAIL, NXDOMAIN); `error_code` says "
                          "which.");
    Object::Ptr media = member(member(failedDependency, "content"), "application/json");
    media->remove("examples");
    media->set("example", parsedObject(R"({"error":"x","error_code":"dns_nxdomain"})"));
    const std::string plantedFound = joined(verifyDifferences(planted));
    CAPTURE(plantedFound);
    CHECK(plantedFound.find("verify's 400 shows txt_not_found, which verify answers with 424") !=
          std::string::npos);
    CHECK(plantedFound.find("verify's 424 does not name txt_not_found") != std::string::npos);
    CHECK(plantedFound.find("verify's 424 does not name dns_servfail") != std::string::npos);

    const auto found = verifyDifferences(parsedObject(openApi));
    CAPTURE(joined(found));
    CHECK(found.empty());
}
