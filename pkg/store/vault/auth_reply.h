#pragma once

#include <chrono>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/store/vault/auth.h"

namespace secretsync::store::vault {

// Parses the `auth` block (reference §2.3) of a login or auth/token/renew-self reply body into a
// LoginResult. Reads client_token (non-empty) and lease_duration (required), renewable (absent =
// false); other fields are ignored.
// Never throws.
// Errors: kDataLoss when the body has no `auth` object or a field has the wrong type, the message
// naming `what` (the operation, e.g. "auth/kubernetes/login") and the field, never a value.
absl::StatusOr<LoginResult> parseAuthBlock(const nlohmann::json& body, std::string_view what);

// What auth/token/lookup-self (reference §2.2) tells about a token.
struct TokenLookup {
  // `ttl`: seconds left; zero means the token does not expire (a root token: no expire_time).
  // A ttl of 0 with an expire_time (under a second left) reads as 1 s.
  std::chrono::seconds ttl{0};
  // `renewable`; absent (as for a root token) reads as false.
  bool renewable = false;
};

// Parses the `data` of an auth/token/lookup-self reply body (`ttl` required). Never throws.
// Errors: kDataLoss naming the field, as parseAuthBlock.
absl::StatusOr<TokenLookup> parseLookupSelf(const nlohmann::json& body, std::string_view what);

}  // namespace secretsync::store::vault
