#include "core/json_shape.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Handler.h>
#include <Poco/JSON/Parser.h>

namespace dnsh {
namespace {

// Told of every value the parser reads; keeps only what the outermost one was. The parser
// itself refuses text that is not JSON (it throws).
class OutermostValue : public Poco::JSON::Handler {
public:
    bool isObject() const { return firstWasObject_; }

    void reset() override {}
    void startObject() override { opened(true); }
    void endObject() override {}
    void startArray() override { opened(false); }
    void endArray() override {}
    void key(const std::string&) override {}
    void null() override { opened(false); }
    void value(int) override { opened(false); }
    void value(unsigned) override { opened(false); }
    void value(Poco::Int64) override { opened(false); }
    void value(Poco::UInt64) override { opened(false); }
    void value(const std::string&) override { opened(false); }
    void value(double) override { opened(false); }
    void value(bool) override { opened(false); }

private:
    // The first value the parser reports is the outermost one.
    void opened(bool object) {
        if (seen_) return;
        seen_ = true;
        firstWasObject_ = object;
    }

    bool seen_ = false;
    bool firstWasObject_ = false;
};

}  // namespace

bool isJsonObjectText(const std::string& text) {
    Poco::SharedPtr<OutermostValue> shape = new OutermostValue;
    try {
        Poco::JSON::Parser(shape).parse(text);
    } catch (const Poco::Exception&) {
        return false;
    }
    return shape->isObject();
}

}  // namespace dnsh
