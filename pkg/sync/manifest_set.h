#pragma once

#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "pkg/api/external_secret.h"
#include "pkg/api/field_errors.h"
#include "pkg/api/secret_store.h"
#include "pkg/api/vault_provider.h"
#include "pkg/common/secret_string.h"
#include "pkg/sync/store_resolver.h"
#include "pkg/sync/store_source.h"

namespace secretsync::sync {

// Where an object came from: "<file>:<document>" with documents counted from 1 in the order of
// the YAML stream, and "<file>:<document>:items[<i>]" for an item of a `kind: List`.
struct ManifestLocation {
  std::string file;
  int document = 0;
  int item = -1;  // -1 = not in a List
  std::string toString() const;
};

// One ExternalSecret or (Cluster)SecretStore read from a manifest, with what parsing found.
template <typename T>
struct ManifestObject {
  ManifestLocation location;
  T object;
  api::Diagnostics diagnostics;
};

// A Secret or ConfigMap of the manifests: key -> value, `data` base64-decoded (Secrets) and
// `stringData` merged over it, as the API server does. Values are never printed.
struct ManifestKeyValues {
  ManifestLocation location;
  std::map<std::string, common::SecretString> values;
};

// A finding about a document that is not about a field of a parsed ESO object: a file that
// cannot be read, YAML that does not parse, an object without apiVersion/kind, a duplicate, or
// (as a note, not an error) a kind that is ignored.
struct ManifestProblem {
  ManifestLocation location;
  // "Secret default/db" or "" when the document could not be identified.
  std::string object;
  std::string message;
  bool error = true;
};

// Everything `secretsync sync` and `secretsync validate` read from `-f PATH...`.
//
// Thread-safety: a value type; const access from many threads is safe.
struct ManifestSet {
  std::vector<ManifestObject<api::ExternalSecret>> external_secrets;
  // SecretStores and ClusterSecretStores (SecretStore::kind tells them apart).
  std::vector<ManifestObject<api::SecretStore>> stores;
  // (namespace, name) -> keys.
  std::map<std::tuple<std::string, std::string>, ManifestKeyValues> secrets;
  std::map<std::tuple<std::string, std::string>, ManifestKeyValues> config_maps;
  std::vector<ManifestProblem> problems;

  // The store `ref` names as seen from an ExternalSecret in `es_namespace`, or null.
  const ManifestObject<api::SecretStore>* findStore(const api::StoreRef& ref,
                                                    std::string_view es_namespace) const;
  // True when any problem is an error (notes do not count).
  bool hasErrors() const;
};

struct ManifestLoadOptions {
  // Given to namespaced objects without metadata.namespace, as kubectl does.
  std::string default_namespace = "default";
};

// Reads every path: a file (YAML with `---`-separated documents, or JSON, which YAML reads too),
// or a directory, whose *.yaml, *.yml and *.json files are read in name order (not recursively,
// as `kubectl apply -f DIR`). A `kind: List` (any `*List` with `items`) contributes its items.
// ExternalSecrets and (Cluster)SecretStores (external-secrets.io v1 and v1beta1) are parsed with
// api::parseExternalSecret / parseSecretStore; Secrets and ConfigMaps (v1) are kept as key
// values; other kinds are noted and ignored. Problems never stop the load: each is recorded with
// its file and document, and every other document is still read. A duplicate (same kind,
// namespace and name) is an error; the first one is kept.
ManifestSet loadManifests(const std::vector<std::string>& paths,
                          const ManifestLoadOptions& options = {});

// For each ExternalSecret (by index in `set.external_secrets`) whose target Secret (namespace and
// spec.target.name) an earlier ExternalSecret of the set already writes: the index of that
// earlier one. Two ExternalSecrets writing one Secret overwrite each other on every refresh.
std::map<size_t, size_t> duplicateTargets(const ManifestSet& set);

// One line of `secretsync validate`.
struct ValidationFinding {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  ManifestLocation location;
  // "ExternalSecret prod/app", "ClusterSecretStore vault"; "" when unidentified.
  std::string object;
  // "spec.data[0].remoteRef.key: Required value" (field first when there is one).
  std::string message;

  // "<file>:<doc>: <object>: <message>", with " (warning)" appended to warnings.
  std::string toString() const;
};

// Everything wrong with a ManifestSet, in file order: load problems (notes about ignored kinds
// become warnings), each ExternalSecret's and store's diagnostics (errors and unsupported fields
// are errors, unknown fields warnings), store references that are not in the files (warnings:
// a CI run may check ExternalSecrets without their stores) or that cannot be used (a SecretStore
// without a Vault provider, a ClusterSecretStore whose conditions refuse the namespace: errors),
// and ExternalSecrets writing the same target Secret (errors).
std::vector<ValidationFinding> validateManifests(const ManifestSet& set);

// A CredentialSource over the Secrets and ConfigMaps of a ManifestSet (offline `sync`). It cannot
// mint service-account tokens: requestToken() is kFailedPrecondition, naming the alternatives.
//
// Thread-safety: immutable; `manifests` must outlive it.
class ManifestCredentials final : public CredentialSource {
 public:
  explicit ManifestCredentials(const ManifestSet& manifests) : manifests_(manifests) {}

  // CredentialSource
  absl::StatusOr<common::SecretString> secretValue(const api::ObjectKeyRef& ref) override;
  absl::StatusOr<std::string> configMapValue(const api::ObjectKeyRef& ref) override;
  absl::StatusOr<common::SecretString> requestToken(const api::TokenRequestSpec& spec) override;

 private:
  const ManifestSet& manifests_;
};

// A StoreClientSource over the stores of a ManifestSet: finds the store by reference and hands it
// to `resolver`. A store not in the files is kNotFound ("... not in the given files"); a store
// whose manifest has errors or unsupported fields is kInvalidArgument naming them.
//
// Thread-safety: as StoreResolver; `manifests` and `resolver` must outlive it.
class ManifestStoreSource final : public StoreClientSource {
 public:
  ManifestStoreSource(const ManifestSet& manifests, StoreResolver& resolver)
      : manifests_(manifests), resolver_(resolver) {}

  // StoreClientSource
  absl::StatusOr<ResolvedStore> storeFor(const api::StoreRef& ref,
                                         std::string_view es_namespace) override;

 private:
  const ManifestSet& manifests_;
  StoreResolver& resolver_;
};

}  // namespace secretsync::sync
