#include "test/support/vault_double/auth_jwt.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "test/support/vault_double/jwt.h"

namespace secretsync::test::vault {
namespace {
constexpr int64_t kLeewaySeconds = 150;  // the JWT plugin's default expiration_leeway
}  // namespace

LoginOutcome jwtLogin(const std::string& mount, const JwtAuthConfig& config,
                      const std::vector<JwtRole>& roles, const nlohmann::json& body,
                      common::SystemTime now) {
  std::string role_name = stringField(body, "role");
  if (role_name.empty()) {
    role_name = config.default_role;
  }
  if (role_name.empty()) {
    return LoginOutcome::error(400, "missing role");
  }
  auto role = std::find_if(roles.begin(), roles.end(),
                           [&](const JwtRole& r) { return r.name == role_name; });
  if (role == roles.end()) {
    return LoginOutcome::error(400, absl::StrCat("role \"", role_name, "\" could not be found"));
  }
  if (role->role_type == "oidc") {
    return LoginOutcome::error(400, "role with oidc role_type is not allowed");
  }
  std::string jwt = stringField(body, "jwt");
  if (jwt.empty()) {
    return LoginOutcome::error(400, "missing token");
  }
  auto parsed = parseJwt(jwt);
  if (!parsed.ok()) {
    return LoginOutcome::error(
        400, absl::StrCat("error validating token: ", std::string(parsed.status().message())));
  }
  if (config.hs256_key.empty() || !verifyHs256(*parsed, config.hs256_key)) {
    return LoginOutcome::error(400, "error validating token: failed to verify signature");
  }
  const nlohmann::json& claims = parsed->claims;
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  auto exp = claims.find("exp");
  if (exp != claims.end() && exp->is_number() && now_s > exp->get<int64_t>() + kLeewaySeconds) {
    return LoginOutcome::error(400, "error validating claims: token is expired (exp)");
  }
  auto nbf = claims.find("nbf");
  if (nbf != claims.end() && nbf->is_number() && now_s + kLeewaySeconds < nbf->get<int64_t>()) {
    return LoginOutcome::error(400, "error validating claims: token not valid yet (nbf)");
  }
  if (!config.bound_issuer.empty() && stringField(claims, "iss") != config.bound_issuer) {
    return LoginOutcome::error(400, "error validating claims: invalid issuer (iss) claim");
  }
  if (role->bound_audiences.empty()) {
    if (claims.contains("aud")) {
      return LoginOutcome::error(400,
                                 "audience claim found in JWT but no audiences bound to the role");
    }
  } else {
    bool match = false;
    for (const auto& a : role->bound_audiences) {
      match = match || audienceContains(claims, a);
    }
    if (!match) {
      return LoginOutcome::error(400,
                                 "error validating claims: invalid audience (aud) claim: audience "
                                 "claim does not match any expected audience");
    }
  }
  if (!role->bound_subject.empty() && stringField(claims, "sub") != role->bound_subject) {
    return LoginOutcome::error(400,
                               "error validating claims: sub claim does not match bound subject");
  }
  std::string user = stringField(claims, role->user_claim.c_str());
  if (user.empty()) {
    return LoginOutcome::error(400,
                               absl::StrCat("claim \"", role->user_claim, "\" not found in token"));
  }
  LoginOutcome ok;
  ok.token.policies = role->policies;
  ok.token.ttl = role->token_ttl;
  ok.token.max_ttl = role->token_max_ttl;
  ok.token.renewable = true;
  ok.token.orphan = true;
  ok.token.display_name = absl::StrCat(mount, "-", user);
  ok.token.path = absl::StrCat("auth/", mount, "/login");
  ok.token.meta = {{"role", role->name}};
  return ok;
}

}  // namespace secretsync::test::vault
