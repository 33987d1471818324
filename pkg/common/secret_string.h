#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "pkg/common/secure_wipe.h"

namespace secretsync::common {

// A string that must never be printed: a token, a JWT, a secret-id, a secret value.
//
// It has no implicit conversion to std::string and its operator<< prints a fixed marker, so
// putting one into a log line, an error message or a metric label by accident shows the marker,
// not the value. Code that really needs the bytes (an HTTP header, a request body) calls reveal().
//
// Its buffer is zeroed (the whole capacity) before it is released or reused: on destruction, when
// a value is assigned over it, and when it is moved from (a moved-from SecretString is empty, and
// a short value's inline bytes, which std::string's move leaves behind, are wiped too). Copies
// someone made of reveal() are theirs to wipe.
//
// Thread-safety: a value type; const access from many threads is safe.
class SecretString {
 public:
  static constexpr std::string_view kRedacted = "[redacted]";

  SecretString() = default;
  // Takes the buffer of `value` and wipes what std::string's move leaves in it (a short string's
  // inline bytes stay in the source otherwise).
  explicit SecretString(std::string&& value) : value_(std::move(value)) { wipeString(value); }
  explicit SecretString(const std::string& value) : value_(value) {}
  explicit SecretString(const char* value) : value_(value) {}

  SecretString(const SecretString& other) = default;
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) {
    wipeString(other.value_);
  }
  SecretString& operator=(const SecretString& other) {
    if (this != &other) {
      // Wiped first: the assignment may keep our buffer (and leave the old tail in it) or free it.
      wipeString(value_);
      value_ = other.value_;
    }
    return *this;
  }
  SecretString& operator=(SecretString&& other) noexcept {
    if (this != &other) {
      wipeString(value_);
      value_ = std::move(other.value_);
      wipeString(other.value_);
    }
    return *this;
  }
  ~SecretString() { wipeString(value_); }

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
