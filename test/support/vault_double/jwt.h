#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace secretsync::test::vault {

std::string base64UrlEncode(std::string_view in);
// Accepts unpadded or padded base64url; nullopt on any other byte.
std::optional<std::string> base64UrlDecode(std::string_view in);

// @return a compact JWS with header {"alg":"HS256","typ":"JWT"} over `claims`.
std::string signHs256Jwt(const std::string& key, const nlohmann::json& claims);

// A compact JWS split and decoded, signature not yet checked.
struct ParsedJwt {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signing_input;  // "<b64 header>.<b64 payload>"
  std::string signature;      // raw bytes
};

// Splits and decodes a compact JWS. Errors carry go-jose-like texts (kInvalidArgument).
absl::StatusOr<ParsedJwt> parseJwt(std::string_view jwt);

// @return whether `jwt` is an HS256 token whose signature matches `key`.
bool verifyHs256(const ParsedJwt& jwt, const std::string& key);

// @return whether claim `aud` (string or array) contains `audience`.
bool audienceContains(const nlohmann::json& claims, std::string_view audience);

}  // namespace secretsync::test::vault
