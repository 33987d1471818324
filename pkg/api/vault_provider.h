#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pkg/api/secret_store.h"
#include "pkg/store/vault/vault_store.h"

namespace secretsync::api {

// One key of a Secret or ConfigMap the controller must read before it can build the store, with
// its namespace resolved.
struct ObjectKeyRef {
  std::string namespace_name;
  std::string name;
  std::string key;
  friend bool operator==(const ObjectKeyRef&, const ObjectKeyRef&) = default;
};

// A TokenRequest to make for a ServiceAccount (kubernetes-api.md §4.3).
struct TokenRequestSpec {
  std::string namespace_name;
  std::string service_account;
  std::vector<std::string> audiences;  // empty = the API server's default audience
  int64_t expiration_seconds = 600;
  friend bool operator==(const TokenRequestSpec&, const TokenRequestSpec&) = default;
};

// What credentials to fetch from Kubernetes for a Vault login, in the terms of the
// store::vault auth configs. Exactly one source of each credential is set.
struct VaultCredentialPlan {
  enum class Method { kToken, kKubernetes, kAppRole, kJwt };
  Method method = Method::kToken;
  std::string mount;    // auth mount: "kubernetes", "approle", "jwt"; "" for token
  std::string role;     // kubernetes/jwt role
  std::string role_id;  // approle, when given inline

  // kToken: the token.
  std::optional<ObjectKeyRef> token_secret;
  // kKubernetes/kJwt: the JWT from a Secret key, from a TokenRequest, or (kKubernetes with
  // neither) the controller's own service-account token file.
  std::optional<ObjectKeyRef> jwt_secret;
  std::optional<TokenRequestSpec> token_request;
  bool use_own_service_account_token = false;
  // kAppRole: role_id from a Secret (when not inline) and the secret_id.
  std::optional<ObjectKeyRef> role_id_secret;
  std::optional<ObjectKeyRef> secret_id_secret;
};

// A SecretStore's Vault provider compiled for use from one namespace.
struct CompiledVaultStore {
  // address, vault_namespace, kv_version, mount and tls.ca_pem from the spec; `auth` is left
  // default: the caller fills it from `credentials` once it has fetched them.
  store::vault::VaultStoreConfig config;
  VaultCredentialPlan credentials;
  // caProvider: a CA bundle to read from a Secret or ConfigMap into config.tls.ca_pem (appended
  // to caBundle's, as ESO does).
  std::optional<ObjectKeyRef> ca_secret;
  std::optional<ObjectKeyRef> ca_config_map;
  bool read_your_writes = false;
  bool forward_inconsistent = false;
};

// Compiles `store` (parsed without errors, with a Vault provider) for an ExternalSecret in
// `es_namespace`. Refs without a namespace resolve to the store's namespace for a SecretStore
// and to `es_namespace` for a ClusterSecretStore (ESO's referent behaviour); a ClusterSecretStore
// ref with a namespace keeps it.
// @return kInvalidArgument when the store has no Vault provider or no supported auth method,
// kFailedPrecondition when a SecretStore is used from another namespace.
absl::StatusOr<CompiledVaultStore> compileVaultStore(const SecretStore& store,
                                                     std::string_view es_namespace);

// The mount (ESO's `path`) as the KV client wants it: no surrounding slashes, and for KV v2
// without a trailing "/data" (ESO accepts "secret/data" and adds "/data" itself when missing).
std::string vaultMountFromPath(std::string_view path, VaultKvVersion version);

// The path the store client reads for `remote_key` (remoteRef.key): the key under the mount, or
// the key as is when it already starts with the mount (ESO accepts both).
std::string vaultSecretPath(std::string_view mount, std::string_view remote_key);

}  // namespace secretsync::api
