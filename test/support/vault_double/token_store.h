#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pkg/common/clock.h"

namespace secretsync::test::vault {

// Vault's system default and max lease TTL: 768h.
inline constexpr std::chrono::seconds kSystemMaxTtl{2764800};

// What a new token looks like.
struct TokenSpec {
  // Empty: a random "hvs.<24 chars>" id.
  std::string id;
  std::vector<std::string> policies;
  // 0: the system default (768h), or no expiry at all for a token with the root policy.
  std::chrono::seconds ttl{0};
  // Explicit max TTL measured from creation; 0: the system max (768h).
  std::chrono::seconds max_ttl{0};
  bool renewable = true;
  bool no_default_policy = false;
  std::string display_name = "token";
  std::map<std::string, std::string> meta;
  // The path that created it (shown by lookup-self).
  std::string path = "auth/token/create";
  bool orphan = false;
  int num_uses = 0;
};

struct Token {
  std::string id;
  std::string accessor;
  // Sorted, "default" included unless no_default_policy.
  std::vector<std::string> policies;
  std::string display_name;
  std::map<std::string, std::string> meta;
  std::string path;
  bool renewable = false;
  bool orphan = false;
  int num_uses = 0;
  bool expires = true;  // false for root tokens
  std::chrono::seconds creation_ttl{0};
  // The TTL granted by the last create or renew: auth.lease_duration reports it.
  std::chrono::seconds granted_ttl{0};
  std::chrono::seconds explicit_max_ttl{0};
  std::chrono::seconds max_ttl{0};  // effective, from creation
  common::SystemTime creation_time;
  common::SystemTime issue_time;
  common::MonotonicTime created_mono;
  common::MonotonicTime expires_mono;
  std::optional<common::SystemTime> last_renewal;

  bool isRoot() const;
  // @return seconds left, rounded to the nearest second; 0 for non-expiring tokens.
  int64_t ttlSeconds(common::MonotonicTime now) const;
};

// The result of renew-self.
struct RenewResult {
  std::chrono::seconds ttl{0};
  std::vector<std::string> warnings;
  std::string error;  // non-empty: a 400 with this message
};

// Token store of the Vault double.
//
// Thread-safety: not thread-safe; VaultDouble calls it under its mutex.
class TokenStore {
 public:
  explicit TokenStore(common::Clock& clock) : clock_(clock) {}

  // Creates a token; an existing id is replaced.
  Token& create(const TokenSpec& spec);
  // @return the live token with this id, or nullptr if unknown or expired (expired ones are
  // removed, as Vault's expiration manager would).
  Token* lookup(const std::string& id);
  // @return whether a token was removed.
  bool revoke(const std::string& id);
  // Renews following Vault's CalculateTTL: increment (or the creation TTL) capped at max TTL.
  RenewResult renew(Token& token, std::chrono::seconds increment);
  size_t size() const { return tokens_.size(); }

  // The `data` of auth/token/lookup-self.
  nlohmann::json lookupData(const Token& token) const;
  // The `auth` block of a login or renew-self (§2.3).
  nlohmann::json authBlock(const Token& token) const;

 private:
  common::Clock& clock_;
  std::map<std::string, Token> tokens_;
};

}  // namespace secretsync::test::vault
