#pragma once
// Bytes that must not outlive their use in memory (a decrypted private key's PEM, a KEK): wiped
// with OPENSSL_cleanse, which the compiler may not drop as a dead store, before the buffer goes
// back to the allocator, so a later core file, swap page or heap reuse cannot show them. The
// allocator is a parameter only so a unit test can look at each buffer as it is freed.
#include <openssl/crypto.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace dnsh {

template <typename Allocator>
class BasicSecretString {
public:
    using String = std::basic_string<char, std::char_traits<char>, Allocator>;

    BasicSecretString() = default;
    // Takes the buffer of `text`; whatever stays behind in `text` (a short string lives inside
    // the object itself) is wiped.
    explicit BasicSecretString(String&& text) noexcept : text_(std::move(text)) { wipe(text); }
    BasicSecretString(const char* data, std::size_t size) : text_(data, size) {}
    BasicSecretString(const BasicSecretString& other) : text_(other.text_) {}
    BasicSecretString(BasicSecretString&& other) noexcept : text_(std::move(other.text_)) {
        wipe(other.text_);
    }
    BasicSecretString& operator=(const BasicSecretString& other) {
        if (this != &other) {
            wipe(text_);  // a copy into the old buffer could leave its tail behind
            text_ = other.text_;
        }
        return *this;
    }
    BasicSecretString& operator=(BasicSecretString&& other) noexcept {
        if (this != &other) {
            wipe(text_);  // a move may hand our old buffer to `other`
            text_ = std::move(other.text_);
            wipe(other.text_);
        }
        return *this;
    }
    ~BasicSecretString() { wipe(text_); }

    // Appends in a buffer of the final size: a reallocation would free the old one unwiped.
    void append(std::string_view more) {
        if (text_.size() + more.size() > text_.capacity()) {
            String grown(text_.get_allocator());
            grown.reserve(text_.size() + more.size());
            grown.append(text_.data(), text_.size());
            wipe(text_);
            text_.swap(grown);  // `grown` now holds the old, wiped buffer
        }
        text_.append(more.data(), more.size());
    }

    const String& str() const noexcept { return text_; }
    std::string_view view() const noexcept { return {text_.data(), text_.size()}; }
    operator std::string_view() const noexcept { return view(); }
    const char* data() const noexcept { return text_.data(); }
    char* data() noexcept { return text_.data(); }
    std::size_t size() const noexcept { return text_.size(); }
    bool empty() const noexcept { return text_.empty(); }
    friend bool operator==(const BasicSecretString& a, std::string_view b) noexcept {
        return a.view() == b;
    }

private:
    // The whole capacity, not just size(): a string that shrank keeps old bytes past its end.
    static void wipe(String& text) noexcept {
        OPENSSL_cleanse(text.data(), text.capacity());
        text.clear();
    }

    String text_;
};

using SecretString = BasicSecretString<std::allocator<char>>;

}  // namespace dnsh
