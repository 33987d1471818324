#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "pkg/common/secret_string.h"
#include "pkg/store/vault/auth.h"

namespace secretsync::store::vault {

// The authenticators below log in through a VaultTransport. Logins send no token
// (VaultCall::token == nullptr). Non-2xx replies are mapped by statusFromReply (vault_errors.h), so
// codes follow it: Kubernetes auth refuses a bad JWT with 403 (kPermissionDenied), AppRole and JWT
// auth with 400 (kInvalidArgument); an unknown role is 400. Messages name the method, mount and
// role, never the JWT, secret-id or token. A 2xx reply without a usable `auth` block is kDataLoss.
//
// Thread-safety of every authenticator: login() is called by one thread at a time (the
// TokenManager serialises it); identity() is immutable and safe from any thread.

// Token auth: a token given by the user (ESO's tokenSecretRef, VAULT_TOKEN).
struct TokenAuthConfig {
  common::SecretString token;
};

// Kubernetes auth (reference §2.4): POST auth/<mount>/login {role, jwt}.
struct KubernetesAuthConfig {
  // "kubernetes" on Vault and OpenBao; Stronghold's local cluster uses "kubernetes_local".
  std::string mount = "kubernetes";
  std::string role;
  JwtSourcePtr jwt;
};

// AppRole auth (reference §2.5): POST auth/<mount>/login {role_id, secret_id}.
struct AppRoleAuthConfig {
  std::string mount = "approle";
  std::string role_id;
  // May be empty for a role with bind_secret_id=false; then no secret_id is sent.
  common::SecretString secret_id;
};

// JWT auth (reference §2.5): POST auth/<mount>/login {role, jwt}.
struct JwtAuthConfig {
  std::string mount = "jwt";
  // May be empty when the mount has a default_role; then no role is sent.
  std::string role;
  JwtSourcePtr jwt;
};

// Token auth: login() validates the token with GET auth/token/lookup-self and reports its
// remaining `ttl` (0 = never expires, a root token) and `renewable`. A refused token is
// kUnauthenticated ("invalid token") or kPermissionDenied, as statusFromReply maps it.
// identity(): "token:<keyedFingerprint(token)>".
// Errors: kInvalidArgument for an empty token.
absl::StatusOr<AuthenticatorPtr> makeTokenAuthenticator(TokenAuthConfig config);

// identity(): "kubernetes:<mount>:<role>:<jwt->describe()>".
// Errors: kInvalidArgument for an empty mount or role or a null JWT source.
absl::StatusOr<AuthenticatorPtr> makeKubernetesAuthenticator(KubernetesAuthConfig config);

// identity(): "approle:<mount>:<role_id>".
// Errors: kInvalidArgument for an empty mount or role_id.
absl::StatusOr<AuthenticatorPtr> makeAppRoleAuthenticator(AppRoleAuthConfig config);

// identity(): "jwt:<mount>:<role>:<jwt->describe()>".
// Errors: kInvalidArgument for an empty mount or a null JWT source.
absl::StatusOr<AuthenticatorPtr> makeJwtAuthenticator(JwtAuthConfig config);

}  // namespace secretsync::store::vault
