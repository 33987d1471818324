#pragma once

#include <string>
#include <string_view>

namespace secretsync::common::http {

// Percent-encodes `text` for a URL: RFC 3986's unreserved characters (ALPHA, DIGIT, "-._~") and
// the characters in `keep` stay as they are, every other byte becomes "%XX" (upper-case hex).
// Pure function: safe from any thread.
std::string percentEncode(std::string_view text, std::string_view keep = "");

// One query key or value: percentEncode with nothing kept beyond the unreserved characters.
inline std::string escapeQueryComponent(std::string_view value) { return percentEncode(value); }

}  // namespace secretsync::common::http
