#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "pkg/api/secret_store.h"
#include "pkg/api/vault_provider.h"
#include "pkg/common/clock.h"
#include "pkg/common/http/http_client.h"
#include "pkg/common/http/http_client_pool.h"
#include "pkg/common/http/tls_options.h"
#include "pkg/common/secret_string.h"
#include "pkg/store/vault/vault_store.h"
#include "pkg/sync/store_source.h"

namespace secretsync::sync {

// Where the credentials a store names come from. The controller reads them through the
// Kubernetes API (Secrets, ConfigMaps, TokenRequest); `secretsync sync` from the Secret and
// ConfigMap manifests it was given.
//
// Errors: kNotFound naming the object and key ("Secret \"ns/name\" key \"token\"") when it does not
// exist; kUnavailable (or the API's code) when it cannot be read now; messages never hold a value.
//
// Thread-safety: implementations must allow concurrent calls.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;

  // The value of key `ref.key` of Secret `ref.namespace_name`/`ref.name`.
  virtual absl::StatusOr<common::SecretString> secretValue(const api::ObjectKeyRef& ref) = 0;

  // The value of key `ref.key` of ConfigMap `ref.namespace_name`/`ref.name` (CA bundles).
  virtual absl::StatusOr<std::string> configMapValue(const api::ObjectKeyRef& ref) = 0;

  // A service-account token minted by TokenRequest for `spec` (kubernetes/jwt auth with a
  // serviceAccountRef). Called when Vault login needs a JWT, not on every resolve. A source that
  // cannot mint tokens (offline `sync`) returns kFailedPrecondition saying so.
  virtual absl::StatusOr<common::SecretString> requestToken(const api::TokenRequestSpec& spec) = 0;
};

struct StoreResolverOptions {
  // The JWT file for kubernetes auth that names neither serviceAccountRef nor secretRef (ESO: the
  // controller's own service-account token). In-cluster: the pod's projected token; `sync`:
  // --service-account-token-file.
  std::string own_service_account_token_file =
      "/var/run/secrets/kubernetes.io/serviceaccount/token";
  // For offline use: the token used for tokenSecretRef auth when its Secret is not found
  // (kNotFound from the CredentialSource), e.g. $VAULT_TOKEN. Unset in the controller.
  std::optional<common::SecretString> fallback_token;
  // Applied to every VaultStore built (retries, timeouts; address and namespace come from the
  // store).
  store::vault::HttpVaultTransportOptions transport;
  store::vault::TokenManagerOptions tokens;
};

// Turns a SecretStore / ClusterSecretStore, as used from one ExternalSecret namespace, into a
// StoreClient (a store::vault::VaultStore), via api::compileVaultStore and the CredentialSource.
//
// Clients are cached per use: (store kind, store namespace/name, ExternalSecret namespace — a
// ClusterSecretStore's refs resolve to it). A cached client is returned as long as its
// fingerprint — the compiled config (address, namespace, mount, KV version, CA bundle, auth
// method, mount, role, credential refs) plus keyed fingerprints of the credential values read —
// is unchanged, so the token login happens once per identity and the token is renewed by the
// client's TokenManager; when the store spec or a credential value changes, the next resolve()
// builds a new client (the old one lives on while a caller still holds it). Credentials are read
// from the CredentialSource on every resolve() (cheap from an informer cache or a manifest set);
// TokenRequest tokens only when the client logs in. Clients with the same TLS settings (CA
// bundle, server name) share one libcurl HttpClient, so connections to one Vault are reused
// across identities; the TLS settings live in the HTTP client, so two CA bundles need two.
//
// Thread-safety: all methods may be called from many threads at once; one mutex guards the cache
// and is not held while reading credentials. `credentials` and `clock` must outlive the resolver
// and every client it returned. curl_global_init must have run (CurlGlobal).
class StoreResolver {
 public:
  StoreResolver(CredentialSource& credentials, common::Clock& clock,
                StoreResolverOptions options = {});

  StoreResolver(const StoreResolver&) = delete;
  StoreResolver& operator=(const StoreResolver&) = delete;

  // The client for `store` (parsed with diagnostics ok()) used by an ExternalSecret in
  // `es_namespace` whose Namespace has `namespace_labels` (for ClusterSecretStore conditions).
  // @return kFailedPrecondition when a ClusterSecretStore's conditions do not admit the namespace
  //   or a SecretStore is in another namespace; kInvalidArgument when the store cannot be
  //   compiled or the VaultStore config is invalid (no Vault provider, empty credential, bad TLS);
  //   the CredentialSource's error (kNotFound, kUnavailable, ...) for a credential that cannot be
  //   read. Messages name the store ("ClusterSecretStore \"vault\"") and never a credential.
  absl::StatusOr<ResolvedStore> resolve(
      const api::SecretStore& store, std::string_view es_namespace,
      const std::map<std::string, std::string>& namespace_labels = {});

  // Drops the cached clients of a store (deleted from the cluster). Callers holding one keep it.
  void forget(api::StoreKind kind, std::string_view store_namespace, std::string_view name);

  // Cached clients, for tests and metrics.
  size_t cachedClients() const;

 private:
  struct Entry {
    std::string fingerprint;
    ResolvedStore resolved;
  };

  // The credentials of `compiled` as an AuthConfig, appending what identifies them (refs and
  // keyed fingerprints of values) to `fingerprint`.
  absl::StatusOr<store::vault::AuthConfig> authFor(const api::CompiledVaultStore& compiled,
                                                   std::string& fingerprint);

  CredentialSource& credentials_;
  common::Clock& clock_;
  const StoreResolverOptions options_;

  mutable std::mutex mu_;
  // "<kind>/<store namespace>/<name>/<es namespace>" -> client.
  std::map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
  // The HTTP client of every store with the same TLS settings.
  common::http::HttpClientPool http_clients_;
};

}  // namespace secretsync::sync
