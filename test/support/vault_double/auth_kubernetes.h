#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "test/support/vault_double/auth_common.h"

namespace secretsync::test::vault {

// What a TokenReview says about a service-account token.
struct ServiceAccountInfo {
  std::string namespace_name;
  std::string name;
  std::string uid;
};

// Reviews a JWT the way the Kubernetes TokenReview API does; an error status means "not
// authenticated". The API-server double plugs in here.
using TokenReviewer = std::function<absl::StatusOr<ServiceAccountInfo>(
    const std::string& jwt, const std::vector<std::string>& audiences)>;

// One kubernetes auth mount's config (auth/<mount>/config).
struct KubernetesAuthConfig {
  // HS256 key the double checks JWT signatures with (stands in for the API server's keys).
  std::string jwt_hs256_key;
  // Non-empty: the `iss` claim must equal it (Vault's disable_iss_validation=false).
  std::string issuer;
  // Set: TokenReview is delegated to it instead of the local signature check.
  TokenReviewer token_reviewer;
};

// A role of auth/<mount>/role/<name>.
struct KubernetesRole {
  std::string name;
  std::vector<std::string> bound_service_account_names;       // "*" and globs allowed
  std::vector<std::string> bound_service_account_namespaces;  // "*" and globs allowed
  std::string audience;  // non-empty: the JWT `aud` must contain it
  std::vector<std::string> policies;
  std::chrono::seconds token_ttl{0};
  std::chrono::seconds token_max_ttl{0};
};

// The Kubernetes auth login (§2.4): 400 for missing role/jwt and unknown roles; 403 for claim,
// binding and review failures. `role` is nullopt when the role is unknown. Pure function, so the
// double can run it (and the reviewer) without holding its lock.
LoginOutcome kubernetesLogin(const std::string& mount, const KubernetesAuthConfig& config,
                             const std::string& role_name,
                             const std::optional<KubernetesRole>& role, const std::string& jwt,
                             common::SystemTime now);

// The issuer Kubernetes puts in projected service-account tokens by default.
inline constexpr char kKubernetesIssuer[] = "https://kubernetes.default.svc.cluster.local";

}  // namespace secretsync::test::vault

namespace secretsync::test {

// @return an HS256 JWT with the claims Kubernetes puts in projected service-account tokens: iss,
// sub "system:serviceaccount:<ns>:<name>", aud, exp, iat, nbf and
// "kubernetes.io": {namespace, serviceaccount: {name, uid}}. The Kubernetes API double passes its
// own issuer.
std::string mintServiceAccountJwt(const std::string& key, const std::string& namespace_name,
                                  const std::string& sa_name,
                                  const std::vector<std::string>& audiences,
                                  common::SystemTime expiry, const std::string& uid = "",
                                  const std::string& issuer = vault::kKubernetesIssuer);

}  // namespace secretsync::test
