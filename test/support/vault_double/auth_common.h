#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "test/support/vault_double/token_store.h"

namespace secretsync::test::vault {

// What an auth method decided about a login: a token to issue, or an error reply.
struct LoginOutcome {
  // 200: issue `token`. Otherwise the HTTP status of the error.
  int status = 200;
  std::vector<std::string> errors;
  // True for errors Vault core produces (403 permission denied), which get multierror
  // formatting; engine errors are sent as plain messages.
  bool core_error = false;
  TokenSpec token;

  static LoginOutcome error(int status, std::string message, bool core = false) {
    LoginOutcome o;
    o.status = status;
    o.errors.push_back(std::move(message));
    o.core_error = core;
    return o;
  }
};

// @return whether `value` matches `pattern`, where '*' matches any run of characters.
inline bool wildcardMatch(std::string_view pattern, std::string_view value) {
  size_t p = 0;
  size_t v = 0;
  size_t star = std::string_view::npos;
  size_t mark = 0;
  while (v < value.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = v;
    } else if (p < pattern.size() && pattern[p] == value[v]) {
      ++p;
      ++v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

// Vault's strutil.StrListContainsGlob.
inline bool listContainsGlob(const std::vector<std::string>& patterns, std::string_view value) {
  for (const auto& p : patterns) {
    if (wildcardMatch(p, value)) {
      return true;
    }
  }
  return false;
}

// @return body[key] as a string, or "" when absent or not a string.
inline std::string stringField(const nlohmann::json& body, const char* key) {
  if (!body.is_object()) {
    return "";
  }
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) {
    return "";
  }
  return it->get<std::string>();
}

}  // namespace secretsync::test::vault
