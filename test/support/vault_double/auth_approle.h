#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test/support/vault_double/auth_common.h"

namespace secretsync::test::vault {

// An AppRole role with its role_id and the secret_ids issued for it.
struct AppRole {
  std::string name;
  std::string role_id;
  std::vector<std::string> secret_ids;
  bool bind_secret_id = true;
  std::vector<std::string> policies;
  std::chrono::seconds token_ttl{0};
  std::chrono::seconds token_max_ttl{0};
};

// The AppRole login (§2.5): every failure is a 400.
LoginOutcome appRoleLogin(const std::string& mount, const std::vector<AppRole>& roles,
                          const nlohmann::json& body);

}  // namespace secretsync::test::vault
