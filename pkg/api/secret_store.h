#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "pkg/api/external_secret.h"
#include "pkg/api/field_errors.h"
#include "pkg/api/meta.h"

namespace secretsync::api {

// A key of a Secret (or ConfigMap) the controller reads: ESO's SecretKeySelector.
struct SecretKeySelector {
  std::string name;
  std::string key;
  std::string namespace_name;  // "" = the referring object's namespace
  friend bool operator==(const SecretKeySelector&, const SecretKeySelector&) = default;
};

// ESO's ServiceAccountSelector.
struct ServiceAccountSelector {
  std::string name;
  std::vector<std::string> audiences;
  std::string namespace_name;
};

struct VaultTokenAuth {
  SecretKeySelector token_secret_ref;
};

struct VaultKubernetesAuth {
  std::string mount_path = "kubernetes";
  std::string role;
  // At most one; neither = the controller's own service-account token.
  std::optional<ServiceAccountSelector> service_account_ref;
  std::optional<SecretKeySelector> secret_ref;
};

struct VaultAppRoleAuth {
  std::string path = "approle";
  // One of role_id and role_ref.
  std::string role_id;
  std::optional<SecretKeySelector> role_ref;
  SecretKeySelector secret_ref;
};

struct VaultJwtKubernetesSaToken {
  ServiceAccountSelector service_account_ref;
  std::vector<std::string> audiences;
  std::optional<int64_t> expiration_seconds;
};

struct VaultJwtAuth {
  std::string path = "jwt";
  std::string role;
  // One of these two.
  std::optional<SecretKeySelector> secret_ref;
  std::optional<VaultJwtKubernetesSaToken> kubernetes_service_account_token;
};

using VaultAuthMethod = std::variant<std::monostate, VaultTokenAuth, VaultKubernetesAuth,
                                     VaultAppRoleAuth, VaultJwtAuth>;

enum class CaProviderType { kSecret, kConfigMap };
struct CaProvider {
  CaProviderType type = CaProviderType::kSecret;
  std::string name;
  std::string key;
  std::string namespace_name;
};

enum class VaultKvVersion { kV1, kV2 };

// spec.provider.vault.
struct VaultProvider {
  std::string server;
  std::string path;  // KV mount as written; may be empty
  VaultKvVersion version = VaultKvVersion::kV2;
  std::string namespace_name;
  std::string ca_bundle_pem;  // caBundle, base64-decoded
  std::optional<CaProvider> ca_provider;
  bool read_your_writes = false;
  bool forward_inconsistent = false;
  VaultAuthMethod auth;
};

struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
};

struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
  // metav1.LabelSelector semantics: every label and every expression must match.
  bool matches(const std::map<std::string, std::string>& labels) const;
};

// ClusterSecretStore spec.conditions[]: which namespaces may use the store.
struct ClusterSecretStoreCondition {
  std::optional<LabelSelector> namespace_selector;
  std::vector<std::string> namespaces;
  std::vector<std::string> namespace_regexes;
};

struct RetrySettings {
  std::optional<int64_t> max_retries;
  std::optional<absl::Duration> retry_interval;
};

struct SecretStoreSpec {
  std::string controller;
  // How often the store is revalidated; nullopt = the controller default. An integer (seconds)
  // or a Go duration.
  std::optional<absl::Duration> refresh_interval;
  std::optional<RetrySettings> retry_settings;
  std::vector<ClusterSecretStoreCondition> conditions;  // ClusterSecretStore only
  std::optional<VaultProvider> vault;                   // the only provider implemented
};

struct SecretStore {
  ApiVersion api_version = ApiVersion::kV1;
  StoreKind kind = StoreKind::kSecretStore;
  ObjectMeta metadata;
  SecretStoreSpec spec;
  std::vector<Condition> status_conditions;
};

// Reads a SecretStore or ClusterSecretStore (v1 or v1beta1), with ESO's defaults, validating the
// Vault provider (server required and http(s); exactly one provider; exactly one auth method and
// its required fields; caBundle valid base64; ref namespaces allowed by the store kind). Other
// providers (aws, gcpsm, ...) and the Vault options secretsync lacks (cert/ldap/userPass/iam/gcp
// auth, tls client certificates, headers) are reported in diagnostics.unsupported by name.
// @return kInvalidArgument only when it is not a (Cluster)SecretStore at all.
absl::StatusOr<Parsed<SecretStore>> parseSecretStore(const nlohmann::json& object);

// Whether a ClusterSecretStore may be used from `namespace_name` (with its labels): no conditions
// = everywhere; otherwise any condition matching (a listed name, a matching regex, or a matching
// selector). Regexes are Go regexps matched whole, as ESO now anchors them (an invalid one matches
// nothing).
bool namespaceAllowed(const SecretStore& store, const std::string& namespace_name,
                      const std::map<std::string, std::string>& namespace_labels);

}  // namespace secretsync::api
