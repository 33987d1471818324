#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/common/secret_string.h"
#include "pkg/store/store_client.h"

namespace secretsync::csi {

// Attribute names the Secrets Store CSI Driver and kubelet put into MountRequest.attributes
// (reference §1.3).
inline constexpr std::string_view kPodNameAttribute = "csi.storage.k8s.io/pod.name";
inline constexpr std::string_view kPodNamespaceAttribute = "csi.storage.k8s.io/pod.namespace";
inline constexpr std::string_view kPodUidAttribute = "csi.storage.k8s.io/pod.uid";
inline constexpr std::string_view kServiceAccountNameAttribute =
    "csi.storage.k8s.io/serviceAccount.name";
inline constexpr std::string_view kServiceAccountTokensAttribute =
    "csi.storage.k8s.io/serviceAccount.tokens";
inline constexpr std::string_view kSecretProviderClassAttribute = "secretProviderClass";
// Deckhouse's patched driver names the volume's source with this attribute instead.
inline constexpr std::string_view kSecretsStoreImportAttribute = "secretsStoreImport";

// Which parameter language a mount speaks. Each dialect compiles to the same MountOrder.
enum class Dialect {
  // hashicorp/vault-csi-provider's SecretProviderClass parameters (reference §2.1–2.2).
  kVaultCsiProvider,
  // Deckhouse's SecretsStoreImport (reference §3.2): the attributes name the object, whose spec
  // (read from the API server) is compiled by applySecretsStoreImport.
  kSecretsStoreImport,
};

// How an object's value is decoded before it is written (vault-csi-provider's `encoding`).
enum class Encoding { kUtf8, kBase64, kHex };

// One entry of the `objects` list: one file of the volume.
struct MountObject {
  // The file path relative to the volume, and the ObjectVersion id.
  std::string object_name;
  // `secretPath` (SecretsStoreImport: `source.path`) as written, for messages.
  std::string secret_path;
  // What to read, as Vault's API path: vault-csi-provider users write "secret/data/app" on KV v2.
  // The provider turns it into the store's path (VaultStore::pathFromApiPath) before reading.
  store::SecretRef ref;
  // Unset: the whole secret data as a JSON object.
  std::optional<std::string> secret_key;
  Encoding encoding = Encoding::kUtf8;
  // Permission bits (<= 0777); unset: the request's permission.
  std::optional<uint32_t> file_permission;
};

// The pod the volume belongs to, as the driver reports it.
struct PodInfo {
  std::string name;
  std::string namespace_name;
  std::string uid;
  std::string service_account;
};

// One entry of csi.storage.k8s.io/serviceAccount.tokens.
struct ServiceAccountToken {
  common::SecretString token;
  std::string expiration_timestamp;
};

// Everything one Mount asks for, typed and validated. Empty strings mean "not given": the
// provider fills in its defaults (flags) for the Vault address, auth mount, CA and audience.
struct MountOrder {
  Dialect dialect = Dialect::kVaultCsiProvider;
  std::string secret_provider_class;
  // kSecretsStoreImport: the object's name (in the pod's namespace). Until
  // applySecretsStoreImport has run, role_name is empty and objects lists nothing.
  std::string secrets_store_import;
  std::string role_name;
  std::string vault_address;
  std::string vault_namespace;
  // From vaultKubernetesMountPath or vaultAuthMountPath.
  std::string auth_mount;
  std::string ca_cert_path;
  std::string tls_server_name;
  bool skip_tls_verify = false;
  std::string audience;
  std::vector<MountObject> objects;
  PodInfo pod;
  // serviceAccount.tokens by audience; from `secrets` (Kubernetes >= 1.35) or `attributes`.
  std::map<std::string, ServiceAccountToken> service_account_tokens;
  // The request's `permission` (the driver sends 420 = 0644); unset when not sent.
  std::optional<uint32_t> permission;
};

// Bounds on what one request may carry, so a hostile or broken request cannot make us allocate
// without limit.
struct MountAttributesLimits {
  // The driver's gRPC default receive limit is 4 MiB; requests are far smaller in practice.
  size_t max_input_bytes = 1 << 20;
  size_t max_objects_yaml_bytes = 256 << 10;
  size_t max_objects = 256;
  size_t max_object_name_bytes = 253;
};

// @return the dialect of `attributes` (a parsed JSON object of strings): kSecretsStoreImport when
// the `secretsStoreImport` attribute is present, kVaultCsiProvider otherwise.
Dialect detectDialect(const std::map<std::string, std::string>& attributes);

// Parses a MountRequest's `attributes` (JSON object of strings), `secrets` (JSON object of
// strings, may be empty) and `permission` (decimal file mode, may be empty) into a MountOrder.
// Never throws. Errors are kInvalidArgument naming the attribute and, for objects, the entry
// ("objects[2].objectName: ..."); they never contain a token or a value of `secrets`.
// A SecretsStoreImport mount returns the pod, tokens and object name only: the caller reads the
// object and completes the order with applySecretsStoreImport.
absl::StatusOr<MountOrder> parseMountRequest(std::string_view attributes_json,
                                             std::string_view secrets_json,
                                             std::string_view permission,
                                             const MountAttributesLimits& limits = {});

// Completes a kSecretsStoreImport order from the SecretsStoreImport `object` (deckhouse.io/
// v1alpha1, as the API server returns it): `spec.type` must be CSI; `spec.role`, `authPath`,
// `namespace`, `address`, `audience`, `skipTLSVerify` set the order's Vault identity (unset: the
// provider's flags, as Deckhouse's module config), `spec.files[]` its objects (`name`,
// `source.path` as vault-csi-provider's secretPath, `source.key`, `decodeBase64` as encoding
// base64). Never throws. Errors are kInvalidArgument naming the object and the field
// ("SecretsStoreImport prod/app: spec.files[1].name: ...").
absl::Status applySecretsStoreImport(const nlohmann::json& object,
                                     const MountAttributesLimits& limits, MountOrder* order);

// @return OK when `path` is a file path the driver accepts (reference §1.1 File.path): relative,
// already clean (no empty, "." or ".." segment, no trailing slash), not starting with "..".
absl::Status validateFilePath(std::string_view path);

}  // namespace secretsync::csi
