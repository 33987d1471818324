#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace secretsync::common {

// A string that must never be printed: a token, a JWT, a secret-id, a secret value.
//
// It has no implicit conversion to std::string and its operator<< prints a fixed marker, so
// putting one into a log line, an error message or a metric label by accident shows the marker,
// not the value. Code that really needs the bytes (an HTTP header, a request body) calls reveal().
//
// Thread-safety: a value type; const access from many threads is safe.
class SecretString {
 public:
  static constexpr std::string_view kRedacted = "[redacted]";

  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}

  // The secret bytes. Every call site is a place where the value leaves our control: keep them few.
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend bool operator==(const SecretString& a, const SecretString& b) {
    return a.value_ == b.value_;
  }
  friend std::ostream& operator<<(std::ostream& out, const SecretString&) {
    return out << kRedacted;
  }

 private:
  std::string value_;
};

}  // namespace secretsync::common
