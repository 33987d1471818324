#include "pkg/store/vault/auth_reply.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"

namespace secretsync::store::vault {
namespace {

using common::av;

absl::Status malformed(std::string_view what, std::string_view field, std::string_view problem) {
  return absl::DataLossError(
      absl::StrCat("malformed reply to ", av(what), ": `", av(field), "` ", av(problem)));
}

// Reads a JSON integer number of seconds >= 0. A float with no fraction is accepted because some
// JSON encoders (and proxies re-encoding replies) write 3600.0 for 3600.
absl::StatusOr<std::chrono::seconds> readSeconds(const nlohmann::json& value, std::string_view what,
                                                 std::string_view field) {
  // Positive numbers parse as unsigned, but JSON built in code holds them signed: accept both.
  constexpr int64_t kMaxSeconds = int64_t{100} * 366 * 24 * 3600;  // sane bound: 100 years
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > static_cast<uint64_t>(kMaxSeconds)) {
      return malformed(what, field, "is out of range");
    }
    return std::chrono::seconds(static_cast<int64_t>(value.get<uint64_t>()));
  }
  if (value.is_number_integer()) {
    const int64_t seconds = value.get<int64_t>();
    if (seconds < 0) {
      return malformed(what, field, "is negative");
    }
    if (seconds > kMaxSeconds) {
      return malformed(what, field, "is out of range");
    }
    return std::chrono::seconds(seconds);
  }
  if (value.is_number_float()) {
    const double seconds = value.get<double>();
    if (!(seconds >= 0) || seconds > static_cast<double>(kMaxSeconds) ||
        seconds != static_cast<double>(static_cast<int64_t>(seconds))) {
      return malformed(what, field, "is not a whole non-negative number of seconds");
    }
    return std::chrono::seconds(static_cast<int64_t>(seconds));
  }
  return malformed(what, field, "is not a number");
}

// Reads an optional boolean: absent or null is false.
absl::StatusOr<bool> readOptionalBool(const nlohmann::json& object, std::string_view what,
                                      std::string_view field, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return false;
  }
  if (!it->is_boolean()) {
    return malformed(what, field, "is not a boolean");
  }
  return it->get<bool>();
}

}  // namespace

absl::StatusOr<LoginResult> parseAuthBlock(const nlohmann::json& body, std::string_view what) {
  if (!body.is_object()) {
    return malformed(what, "auth", "is missing (the body is not a JSON object)");
  }
  const auto auth = body.find("auth");
  if (auth == body.end() || auth->is_null()) {
    return malformed(what, "auth", "is missing");
  }
  if (!auth->is_object()) {
    return malformed(what, "auth", "is not an object");
  }

  LoginResult result;
  const auto token = auth->find("client_token");
  if (token == auth->end() || token->is_null()) {
    return malformed(what, "auth.client_token", "is missing");
  }
  if (!token->is_string()) {
    return malformed(what, "auth.client_token", "is not a string");
  }
  if (token->get_ref<const std::string&>().empty()) {
    return malformed(what, "auth.client_token", "is empty");
  }
  result.token = common::SecretString(token->get<std::string>());

  // Required: a missing lease must not read as "never expires".
  const auto lease = auth->find("lease_duration");
  if (lease == auth->end() || lease->is_null()) {
    return malformed(what, "auth.lease_duration", "is missing");
  }
  auto lease_seconds = readSeconds(*lease, what, "auth.lease_duration");
  if (!lease_seconds.ok()) {
    return lease_seconds.status();
  }
  result.lease_duration = *lease_seconds;

  auto renewable = readOptionalBool(*auth, what, "auth.renewable", "renewable");
  if (!renewable.ok()) {
    return renewable.status();
  }
  result.renewable = *renewable;
  return result;
}

absl::StatusOr<TokenLookup> parseLookupSelf(const nlohmann::json& body, std::string_view what) {
  if (!body.is_object()) {
    return malformed(what, "data", "is missing (the body is not a JSON object)");
  }
  const auto data = body.find("data");
  if (data == body.end() || data->is_null()) {
    return malformed(what, "data", "is missing");
  }
  if (!data->is_object()) {
    return malformed(what, "data", "is not an object");
  }

  TokenLookup lookup;
  // Required: a missing ttl must not read as "never expires".
  const auto ttl = data->find("ttl");
  if (ttl == data->end() || ttl->is_null()) {
    return malformed(what, "data.ttl", "is missing");
  }
  auto seconds = readSeconds(*ttl, what, "data.ttl");
  if (!seconds.ok()) {
    return seconds.status();
  }
  lookup.ttl = *seconds;
  // `ttl` is whole seconds: a token with under a second left reads 0, which would otherwise mean
  // "never expires". Only a token without an expire_time (root) really never expires.
  const auto expire_time = data->find("expire_time");
  if (lookup.ttl == std::chrono::seconds(0) && expire_time != data->end() &&
      !expire_time->is_null()) {
    if (!expire_time->is_string()) {
      return malformed(what, "data.expire_time", "is not a string");
    }
    lookup.ttl = std::chrono::seconds(1);
  }
  auto renewable = readOptionalBool(*data, what, "data.renewable", "renewable");
  if (!renewable.ok()) {
    return renewable.status();
  }
  lookup.renewable = *renewable;
  return lookup;
}

}  // namespace secretsync::store::vault
