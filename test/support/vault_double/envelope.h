#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pkg/common/clock.h"
#include "test/support/http_server.h"

namespace secretsync::test::vault {

// How replies are shaped; switchable so clients are tested against Vault and OpenBao forms.
struct WireSettings {
  // Vault (not OpenBao) adds "mount_type" to every envelope.
  bool mount_type_field = true;
  // Vault core errors read "1 error occurred:\n\t* permission denied\n\n" (Go multierror).
  bool multierror = true;
  // Vault >= 1.17 adds "invalid token" to the 403 for a bad or expired token.
  bool invalid_token_message = true;
};

// The fields of Vault's success envelope (§0.2) that vary.
struct Envelope {
  std::string lease_id;
  bool renewable = false;
  int64_t lease_duration = 0;
  nlohmann::json data;  // null or object
  std::vector<std::string> warnings;
  nlohmann::json auth;  // null or the auth block
  std::string mount_type;
};

// Serialises like Go's json.Encoder: HTML-safe escapes for <, > and &, U+2028/2029 escaped,
// invalid UTF-8 replaced, trailing newline. Object keys come out sorted (nlohmann::json).
std::string encodeJson(const nlohmann::json& value);

// @return the envelope body in Vault's field order, with a fresh request_id.
std::string envelopeBody(const Envelope& envelope, const WireSettings& settings);

// @return a JSON reply: Content-Type application/json, Cache-Control no-store.
HttpServerResponse jsonResponse(int status, std::string body);
// 200 (or `status`) with a success envelope.
HttpServerResponse envelopeResponse(const Envelope& envelope, const WireSettings& settings,
                                    int status = 200);
// `status` with {"errors":[...]}.
HttpServerResponse errorResponse(int status, const std::vector<std::string>& errors);
// 204: Content-Type application/json and no body.
HttpServerResponse noContent();
// A core error (ACL denial and friends): multierror-formatted when settings say so.
HttpServerResponse coreError(int status, const std::vector<std::string>& messages,
                             const WireSettings& settings);
// 403 for a missing, unknown or expired token.
HttpServerResponse invalidTokenError(const WireSettings& settings);
// 403 for an ACL denial.
HttpServerResponse permissionDenied(const WireSettings& settings);

// RFC 3339 in UTC with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano).
std::string formatRfc3339Nano(common::SystemTime t);
// Go's time.Duration String() for whole seconds: "0s", "9m59s", "1h0m0s".
std::string formatGoDuration(std::chrono::seconds d);
// Parses Vault's duration fields: integer seconds (number or string) or a Go duration string
// ("1h30m", "90s", "2d" too). nullopt if unparseable or negative.
std::optional<std::chrono::seconds> parseDuration(const nlohmann::json& value);
std::optional<std::chrono::seconds> parseDurationString(std::string_view text);
// Parses a Go strconv.ParseBool value.
std::optional<bool> parseGoBool(std::string_view text);

// A random version-4 UUID.
std::string newUuid();
// `n` random characters from [A-Za-z0-9].
std::string randomAlnum(size_t n);

}  // namespace secretsync::test::vault
