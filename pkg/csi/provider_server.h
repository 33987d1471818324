#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "pkg/common/http/http_client.h"
#include "pkg/common/http/http_client_pool.h"
#include "pkg/common/secret_string.h"
#include "pkg/csi/mount_attributes.h"
#include "pkg/csi/v1alpha1/service.grpc.pb.h"
#include "pkg/kube/kube_client.h"
#include "pkg/store/fetcher.h"
#include "pkg/store/vault/vault_store.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace secretsync::csi {

// The name the driver knows us by (SecretProviderClass spec.provider, <name>.sock).
inline constexpr std::string_view kProviderName = "secretsync";
inline constexpr std::string_view kDefaultSocketPath =
    "/var/run/secrets-store-csi-providers/secretsync.sock";

// Mints a service-account token for `pod` with `audience` when the driver sent none: the
// TokenRequest fallback (serviceaccounts/<name>/token).
using TokenRequestHook = std::function<absl::StatusOr<common::SecretString>(
    const PodInfo& pod, std::string_view audience)>;

// vault-csi-provider's lifetime for the tokens it mints: a token serves one Vault login only.
inline constexpr std::chrono::seconds kTokenRequestExpiration{15 * 60};

// @return the TokenRequest fallback over `client` (which must outlive the hook): a token for the
// pod's service account with `audience`. The provider needs `create` on `serviceaccounts/token`.
// Errors are the client's, prefixed with what was asked ("TokenRequest for prod/app: ...").
TokenRequestHook makeTokenRequestHook(kube::KubeClient& client,
                                      std::chrono::seconds expiration = kTokenRequestExpiration);

struct ProviderOptions {
  // Used when a SecretProviderClass omits vaultAddress / vault auth mount / CA (flags, as
  // Deckhouse configures its provider).
  std::string default_vault_address;
  std::string default_auth_mount = "kubernetes";
  std::string default_ca_file;
  std::string default_vault_namespace;
  // The serviceAccount.tokens entry used when `audience` is not set.
  std::string default_audience = "vault";
  // Reported by Version.
  std::string runtime_version;
  // The shared cache in front of the store (per identity + path + version).
  store::FetcherOptions fetcher;
  // Most Vault identities (address, namespace, auth mount, role, service account, TLS) kept with
  // their token; the least recently used goes first.
  size_t max_identities = 1000;
  // Per HTTP request to Vault, retries excluded.
  std::chrono::milliseconds vault_request_timeout{10'000};
  // The driver fails a response over its 4 MiB receive limit anyway; we fail first, by name.
  size_t max_response_bytes = 4 << 20;
  // Empty: a mount without a token for the audience fails with kFailedPrecondition.
  TokenRequestHook token_request;
  // Reads the SecretsStoreImport a Deckhouse-style mount names (needs `get` on
  // secretsstoreimports.deckhouse.io); must outlive the provider. Null: such mounts fail with
  // kFailedPrecondition.
  kube::KubeClient* kube_client = nullptr;
  // Metrics hooks, optional and thread-safe: every Mount (error code empty on success), and every
  // HTTP attempt to Vault made for any identity.
  std::function<void(std::string_view error_code, std::chrono::nanoseconds duration)> on_mount;
  store::vault::VaultAttemptObserver vault_observer;
};

// Counters for the metrics that land with the Prometheus wiring. Monotonic except `identities`.
struct ProviderStats {
  uint64_t mounts = 0;
  uint64_t mount_errors = 0;
  // Failed mounts by MountResponse.error.code ("PermissionDenied", ...).
  std::map<std::string, uint64_t> errors_by_code;
  std::chrono::nanoseconds total_latency{0};
  std::chrono::nanoseconds max_latency{0};
  // Live Vault identities (stores with their tokens).
  size_t identities = 0;
  // Store reads made and saved (Fetcher::stats().readsSaved()).
  store::FetcherStats fetcher;
};

// @return the MountResponse.error.code for a failed mount: the status code in CamelCase
// ("PermissionDenied"), which the driver uses as its error_type metric label.
std::string errorCodeName(absl::StatusCode code);

// The provider logic: turns a MountRequest into files, reading through one shared Fetcher and
// one VaultStore per identity. Free of gRPC transport concerns so tests can call it directly.
//
// Identity: vault address + namespace + auth mount + role + the pod's service account
// (namespace/name) + audience + TLS settings. Pods of one identity share one Vault token and one
// cache; the pod's JWT (from serviceAccount.tokens) is handed to the identity's JWT source on every
// mount, so a login after expiry uses the newest token rather than logging in once per mount.
//
// Thread-safety: mount(), version() and stats() may be called from many threads at once. A
// mutex guards the identity and HTTP-client maps; it is never held during a store read.
class Provider {
 public:
  // `clock` must outlive the provider. curl_global_init must have run (CurlGlobal).
  Provider(common::Clock& clock, ProviderOptions options);
  ~Provider();

  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  void version(const v1alpha1::VersionRequest& request, v1alpha1::VersionResponse* response);

  // Fills `response` with one ObjectVersion and one File per object.
  // Errors: kInvalidArgument (bad attributes or SecretsStoreImport, a key missing, undecodable
  // base64), as the store reads (kPermissionDenied, kNotFound, kUnavailable, ...), as the
  // Kubernetes API for the SecretsStoreImport, kFailedPrecondition (no token for the audience and
  // no TokenRequest fallback; no Kubernetes client for a SecretsStoreImport), kResourceExhausted
  // (files over the size limit). Messages name the object and its path, never a value or a
  // token. On error `response` is left empty but for error.code.
  absl::Status mount(const v1alpha1::MountRequest& request, v1alpha1::MountResponse* response);

  ProviderStats stats() const;

 private:
  // One Vault identity: its store (with its TokenManager) and the newest pod JWT for logins.
  struct Identity;
  using IdentityPtr = std::shared_ptr<Identity>;

  absl::Status mountOrder(const MountOrder& order, v1alpha1::MountResponse* response);
  // Reads the SecretsStoreImport `order` names and completes the order from it.
  absl::Status resolveSecretsStoreImport(MountOrder* order);
  // @return the driver's token for `audience` from the request, nullptr when there is none but
  // the TokenRequest hook can mint one, or kFailedPrecondition.
  absl::StatusOr<const common::SecretString*> podToken(const MountOrder& order,
                                                       const std::string& audience) const;
  absl::StatusOr<IdentityPtr> identityFor(const MountOrder& order, const std::string& audience,
                                          const common::SecretString* jwt);
  void record(const absl::Status& status, std::chrono::nanoseconds latency);

  common::Clock& clock_;
  const ProviderOptions options_;
  store::Fetcher fetcher_;

  mutable std::mutex mu_;
  // Most recently used first; map values point into the list.
  std::list<std::pair<std::string, IdentityPtr>> lru_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::list<std::pair<std::string, IdentityPtr>>::iterator> identities_
      ABSL_GUARDED_BY(mu_);
  // One libcurl client per TLS configuration, so identities of one server reuse connections.
  common::http::HttpClientPool http_clients_;
  ProviderStats stats_ ABSL_GUARDED_BY(mu_);
};

// The gRPC face of a Provider: converts absl::Status to grpc::Status at the edge. A failed Mount
// returns a non-OK gRPC status whose message reaches the pod's events through the driver (the
// driver drops the response body of a failed call, so error.code travels only in the status).
//
// Thread-safety: as Provider.
class ProviderService final : public v1alpha1::CSIDriverProvider::Service {
 public:
  explicit ProviderService(Provider& provider) : provider_(provider) {}

  grpc::Status Version(grpc::ServerContext* context, const v1alpha1::VersionRequest* request,
                       v1alpha1::VersionResponse* response) override;
  grpc::Status Mount(grpc::ServerContext* context, const v1alpha1::MountRequest* request,
                     v1alpha1::MountResponse* response) override;

 private:
  Provider& provider_;
};

// Serves a Provider on a unix socket. A stale socket file at the path is removed first; the new
// socket is created owner-only (0600): the driver reaches it as root through a hostPath, and
// nobody else should. shutdown() (or the destructor) stops serving and removes the socket.
//
// Thread-safety: shutdown() and wait() may be called from any thread; start() returns a running
// server whose calls are served on gRPC's threads.
class ProviderServer {
 public:
  // `provider` must outlive the server.
  // Errors: kFailedPrecondition when the path exists and is not a socket, or the directory is
  // missing; kUnavailable when gRPC cannot listen.
  static absl::StatusOr<std::unique_ptr<ProviderServer>> start(const std::string& socket_path,
                                                               Provider& provider);
  ~ProviderServer();

  ProviderServer(const ProviderServer&) = delete;
  ProviderServer& operator=(const ProviderServer&) = delete;

  // Stops accepting calls, lets running ones finish for up to `grace`, then cancels the rest.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Blocks until the server has shut down.
  void wait();

  const std::string& socketPath() const { return socket_path_; }

 private:
  ProviderServer(std::string socket_path, Provider& provider);

  const std::string socket_path_;
  ProviderService service_;
  std::unique_ptr<grpc::Server> server_;
  std::once_flag shutdown_once_;
};

}  // namespace secretsync::csi
