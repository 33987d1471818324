#include "test/support/vault_double/auth_approle.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace secretsync::test::vault {

LoginOutcome appRoleLogin(const std::string& mount, const std::vector<AppRole>& roles,
                          const nlohmann::json& body) {
  std::string role_id = stringField(body, "role_id");
  std::string secret_id = stringField(body, "secret_id");
  if (role_id.empty()) {
    return LoginOutcome::error(400, "missing role_id");
  }
  auto role = std::find_if(roles.begin(), roles.end(),
                           [&](const AppRole& r) { return r.role_id == role_id; });
  if (role == roles.end()) {
    return LoginOutcome::error(400, "invalid role or secret ID");
  }
  if (role->bind_secret_id) {
    if (secret_id.empty()) {
      return LoginOutcome::error(400, "missing secret_id");
    }
    if (std::find(role->secret_ids.begin(), role->secret_ids.end(), secret_id) ==
        role->secret_ids.end()) {
      return LoginOutcome::error(400, "invalid role or secret ID");
    }
  }
  LoginOutcome ok;
  ok.token.policies = role->policies;
  ok.token.ttl = role->token_ttl;
  ok.token.max_ttl = role->token_max_ttl;
  ok.token.renewable = true;
  ok.token.orphan = true;
  ok.token.display_name = mount;
  ok.token.path = absl::StrCat("auth/", mount, "/login");
  ok.token.meta = {{"role_name", role->name}};
  return ok;
}

}  // namespace secretsync::test::vault
