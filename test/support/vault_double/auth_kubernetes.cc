#include "test/support/vault_double/auth_kubernetes.h"

#include "absl/strings/str_cat.h"
#include "test/support/vault_double/jwt.h"

namespace secretsync::test::vault {
namespace {

// go-jose's DefaultLeeway, which Vault's claim validation uses.
constexpr int64_t kLeewaySeconds = 60;

struct SaClaims {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string secret_name;
};

std::string str(const nlohmann::json& obj, const char* key) { return stringField(obj, key); }

// Reads the service account from projected-token claims, or from legacy secret-token claims.
SaClaims serviceAccountFromClaims(const nlohmann::json& claims) {
  SaClaims sa;
  auto k8s = claims.find("kubernetes.io");
  if (k8s != claims.end() && k8s->is_object()) {
    sa.namespace_name = str(*k8s, "namespace");
    auto account = k8s->find("serviceaccount");
    if (account != k8s->end() && account->is_object()) {
      sa.name = str(*account, "name");
      sa.uid = str(*account, "uid");
    }
    return sa;
  }
  sa.namespace_name = str(claims, "kubernetes.io/serviceaccount/namespace");
  sa.name = str(claims, "kubernetes.io/serviceaccount/service-account.name");
  sa.uid = str(claims, "kubernetes.io/serviceaccount/service-account.uid");
  sa.secret_name = str(claims, "kubernetes.io/serviceaccount/secret.name");
  return sa;
}

int64_t unixSeconds(common::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

LoginOutcome kubernetesLogin(const std::string& mount, const KubernetesAuthConfig& config,
                             const std::string& role_name,
                             const std::optional<KubernetesRole>& role, const std::string& jwt,
                             common::SystemTime now) {
  if (role_name.empty()) {
    return LoginOutcome::error(400, "missing role");
  }
  if (jwt.empty()) {
    return LoginOutcome::error(400, "missing jwt");
  }
  if (!role.has_value()) {
    return LoginOutcome::error(400, absl::StrCat("invalid role name \"", role_name, "\""));
  }
  auto parsed = parseJwt(jwt);
  if (!parsed.ok()) {
    return LoginOutcome::error(403, std::string(parsed.status().message()), true);
  }
  const nlohmann::json& claims = parsed->claims;
  // Claim validation as go-jose does it, with its one-minute leeway.
  auto exp = claims.find("exp");
  if (exp != claims.end() && exp->is_number() &&
      unixSeconds(now) > exp->get<int64_t>() + kLeewaySeconds) {
    return LoginOutcome::error(
        403, "go-jose/go-jose/jwt: validation failed, token is expired (exp)", true);
  }
  auto nbf = claims.find("nbf");
  if (nbf != claims.end() && nbf->is_number() &&
      unixSeconds(now) + kLeewaySeconds < nbf->get<int64_t>()) {
    return LoginOutcome::error(
        403, "go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)", true);
  }
  if (!config.issuer.empty() && stringField(claims, "iss") != config.issuer) {
    return LoginOutcome::error(
        403, "go-jose/go-jose/jwt: validation failed, invalid issuer claim (iss)", true);
  }
  if (!role->audience.empty() && !audienceContains(claims, role->audience)) {
    return LoginOutcome::error(
        403, "go-jose/go-jose/jwt: validation failed, invalid audience claim (aud)", true);
  }
  SaClaims sa = serviceAccountFromClaims(claims);
  if (!listContainsGlob(role->bound_service_account_names, sa.name)) {
    return LoginOutcome::error(403, "service account name not authorized", true);
  }
  if (!listContainsGlob(role->bound_service_account_namespaces, sa.namespace_name)) {
    return LoginOutcome::error(403, "namespace not authorized", true);
  }
  // The TokenReview step.
  if (config.token_reviewer) {
    std::vector<std::string> audiences;
    if (!role->audience.empty()) {
      audiences.push_back(role->audience);
    }
    absl::StatusOr<ServiceAccountInfo> review = config.token_reviewer(jwt, audiences);
    if (!review.ok() || review->name != sa.name || review->namespace_name != sa.namespace_name ||
        (!sa.uid.empty() && !review->uid.empty() && review->uid != sa.uid)) {
      return LoginOutcome::error(403, "permission denied", true);
    }
    if (sa.uid.empty()) {
      sa.uid = review->uid;
    }
  } else if (config.jwt_hs256_key.empty() || !verifyHs256(*parsed, config.jwt_hs256_key)) {
    return LoginOutcome::error(403, "permission denied", true);
  }

  LoginOutcome ok;
  ok.token.policies = role->policies;
  ok.token.ttl = role->token_ttl;
  ok.token.max_ttl = role->token_max_ttl;
  ok.token.renewable = true;
  ok.token.orphan = true;
  ok.token.display_name = absl::StrCat(mount, "-", sa.namespace_name, "-", sa.name);
  ok.token.path = absl::StrCat("auth/", mount, "/login");
  ok.token.meta = {{"role", role->name},
                   {"service_account_name", sa.name},
                   {"service_account_namespace", sa.namespace_name},
                   {"service_account_secret_name", sa.secret_name},
                   {"service_account_uid", sa.uid}};
  return ok;
}

}  // namespace secretsync::test::vault

namespace secretsync::test {

std::string mintServiceAccountJwt(const std::string& key, const std::string& namespace_name,
                                  const std::string& sa_name,
                                  const std::vector<std::string>& audiences,
                                  common::SystemTime expiry, const std::string& uid,
                                  const std::string& issuer) {
  int64_t exp = std::chrono::duration_cast<std::chrono::seconds>(expiry.time_since_epoch()).count();
  std::string account_uid = uid.empty() ? absl::StrCat("uid-", namespace_name, "-", sa_name) : uid;
  nlohmann::json claims = {
      {"aud", audiences},
      {"exp", exp},
      {"iat", exp - 3600},
      {"nbf", exp - 3600},
      {"iss", issuer},
      {"sub", absl::StrCat("system:serviceaccount:", namespace_name, ":", sa_name)},
      {"kubernetes.io",
       {{"namespace", namespace_name},
        {"serviceaccount", {{"name", sa_name}, {"uid", account_uid}}}}},
  };
  return vault::signHs256Jwt(key, claims);
}

}  // namespace secretsync::test
