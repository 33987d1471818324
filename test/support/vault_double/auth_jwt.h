#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pkg/common/clock.h"
#include "test/support/vault_double/auth_common.h"

namespace secretsync::test::vault {

// One JWT auth mount's config (auth/<mount>/config), with an HS256 key in place of JWKS.
struct JwtAuthConfig {
  std::string hs256_key;
  std::string bound_issuer;  // non-empty: `iss` must equal it
  std::string default_role;
};

struct JwtRole {
  std::string name;
  std::string role_type = "jwt";  // "oidc" roles are refused at this endpoint
  std::vector<std::string> bound_audiences;
  std::string bound_subject;
  std::string user_claim = "sub";
  std::vector<std::string> policies;
  std::chrono::seconds token_ttl{0};
  std::chrono::seconds token_max_ttl{0};
};

// The JWT login (§2.5): every failure is a 400.
LoginOutcome jwtLogin(const std::string& mount, const JwtAuthConfig& config,
                      const std::vector<JwtRole>& roles, const nlohmann::json& body,
                      common::SystemTime now);

}  // namespace secretsync::test::vault
