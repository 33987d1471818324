#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "test/support/http_server.h"
#include "test/support/kube_double/api_status.h"
#include "test/support/kube_double/kube_faults.h"
#include "test/support/kube_double/object_store.h"
#include "test/support/kube_double/resource_types.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/faults.h"

namespace secretsync::test {

struct KubeDoubleOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free one
  std::optional<TlsServerConfig> tls;
  // Time source for timestamps and service-account token expiry; null means the real clock.
  // Must outlive the double. Watch timeouts and bookmarks always use real time.
  common::Clock* clock = nullptr;
  // Bearer token → user name. Requests without a known token get 401 (service-account JWTs
  // minted by TokenRequest are accepted too, as their "system:serviceaccount:..." user).
  std::map<std::string, std::string> tokens;
  // How often a watch with allowWatchBookmarks=true gets a BOOKMARK.
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(1)};
  // How many changes the watch history keeps; a watch from before them gets 410 Expired.
  size_t watch_history = 10000;
  // HS256 key and issuer of service-account JWTs (configure a Vault double with the same).
  std::string service_account_key = "kube-double-service-account-signing-key";
  std::string service_account_issuer = vault::kKubernetesIssuer;
  // The API server's own audiences (TokenRequest default, TokenReview without audiences).
  std::vector<std::string> api_audiences = {vault::kKubernetesIssuer};
  // Reported by /version.
  std::string version = "v1.30.4";
};

// One accepted write, for tests asserting what was (or was not) written.
struct KubeWriteRecord {
  common::SystemTime time;
  std::string verb;      // create, update, patch, apply, delete
  std::string group;     // "" for core
  std::string resource;  // "secrets", "externalsecrets/status"
  std::string namespace_name;
  std::string name;
  std::string field_manager;  // fieldManager (or the User-Agent's product) of the request
  std::string user;
  bool changed = false;  // false when the write left the object as it was
};

// An in-process double of the Kubernetes API server for the controller, CSI provider and e2e
// tests, faithful to shared/reference/kubernetes-api.md: Secrets (validation, stringData,
// immutable, type rules, merge/strategic/JSON patch, server-side apply with field managers),
// namespaces, configmaps, service accounts with TokenRequest and TokenReview, core and
// events.k8s.io events, leases, and custom resources served generically from a registry of kinds
// (ESO v1 and v1beta1 from one storage, Deckhouse SecretsStoreImport, SecretProviderClass) with
// status subresource, generation, finalizers. Lists paginate; watches stream chunked JSON lines
// with bookmarks and 410 Expired. Errors are Status objects (plain-text 404 for unknown paths).
// Faults, request counters and a write log let tests drive and observe the client.
//
// Thread-safety: all methods are thread-safe. One mutex guards all state; requests are served
// concurrently on the HTTP server's threads and serialised on it. Watch streams write to their
// sockets without the lock. The destructor ends every watch and stops the server.
class KubeDouble {
 public:
  static absl::StatusOr<std::unique_ptr<KubeDouble>> start(KubeDoubleOptions options = {});
  ~KubeDouble();
  KubeDouble(const KubeDouble&) = delete;
  KubeDouble& operator=(const KubeDouble&) = delete;

  std::string baseUrl() const;
  uint16_t port() const;
  // The server now serving; a restartServer() replaces it, so do not keep the reference across one.
  HttpServer& httpServer() { return *server_; }

  // An API-server restart with its storage (etcd) kept: stops the HTTP server (every connection
  // and watch is cut, in-flight requests fail), waits `down_for` with the port closed (clients
  // get "connection refused"), then listens again on the same port with the same objects,
  // resourceVersions, watch history, tokens and faults. Restarts are serialised; must not be
  // called from a request handler.
  absl::Status restartServer(std::chrono::milliseconds down_for);
  // @return how many restartServer() calls brought the server back.
  uint64_t restarts() const;

  // --- Authentication ------------------------------------------------------------------
  void addToken(const std::string& token, const std::string& user);
  void removeToken(const std::string& token);

  // --- Seeding and inspection (no auth, no faults, not in the write log) ------------------
  // Creates a namespace (and its "default" ServiceAccount). AlreadyExists is not an error: the
  // labels are replaced.
  absl::Status createNamespace(const std::string& name,
                               const std::map<std::string, std::string>& labels = {});
  // Creates the object, or replaces it when it exists (keeping uid and creationTimestamp), with
  // the same validation and defaulting as the API. Status subresources are kept as given.
  // @return the stored object.
  absl::StatusOr<nlohmann::json> putObject(const nlohmann::json& object);
  // Deletes as a DELETE request would (finalizers keep it; dependents are collected).
  absl::Status deleteObject(const std::string& api_version, const std::string& kind,
                            const std::string& namespace_name, const std::string& name);
  // @return the object as a GET at `api_version` would, or nullopt.
  std::optional<nlohmann::json> getObject(const std::string& api_version, const std::string& kind,
                                          const std::string& namespace_name,
                                          const std::string& name) const;
  // Objects of one kind; `namespace_name` empty means all namespaces.
  std::vector<nlohmann::json> listObjects(const std::string& api_version, const std::string& kind,
                                          const std::string& namespace_name = "") const;
  // Serves another kind (e.g. a test CRD).
  void addResourceType(kube::ResourceType type);

  // --- Watch control ---------------------------------------------------------------------
  uint64_t currentResourceVersion() const;
  void setBookmarkInterval(std::chrono::milliseconds interval);
  void setWatchHistoryLimit(size_t changes);
  // Drops the whole watch history: watches from any older resourceVersion get 410.
  void compactHistory();
  // The next watch request (any resource) gets 200 and one ERROR event with a 410 Status.
  void forceGoneOnNextWatch();
  // Ends every open watch stream (as a server-side timeout would).
  void closeWatches();
  size_t openWatches() const;

  // --- Faults ----------------------------------------------------------------------------
  // Rules match method and a prefix of the full path (see kube_faults.h for helpers).
  uint64_t addFault(kube::FaultRule rule);
  void removeFault(uint64_t id);
  void clearFaults();
  uint64_t faultHits(uint64_t id) const;

  // --- Counters and write log --------------------------------------------------------------
  // Requests by verb (get, list, watch, create, update, patch, delete) and resource
  // ("secrets", "externalsecrets/status", "serviceaccounts/token", "tokenreviews").
  uint64_t requestCount(const std::string& verb, const std::string& resource) const;
  uint64_t requestCount() const;
  void resetCounters();
  std::vector<KubeWriteRecord> writeLog() const;
  void clearWriteLog();

  // --- Service-account tokens --------------------------------------------------------------
  // Mints a token as TokenRequest does (the ServiceAccount must exist).
  absl::StatusOr<std::string> requestServiceAccountToken(const std::string& namespace_name,
                                                         const std::string& name,
                                                         const std::vector<std::string>& audiences,
                                                         int64_t expiration_seconds = 3600);
  // Reviews a token as TokenReview does: signature, issuer, expiry, audiences, and that the
  // ServiceAccount still exists with the same uid.
  absl::StatusOr<vault::ServiceAccountInfo> reviewToken(
      const std::string& jwt, const std::vector<std::string>& audiences) const;
  // A TokenReviewer for VaultDouble::setTokenReviewer bound to this double. It must not be
  // called after the double is destroyed.
  vault::TokenReviewer tokenReviewer();

  struct RequestContext;
  struct WatchState;

 private:
  explicit KubeDouble(KubeDoubleOptions options);

  HttpServerResponse handle(const HttpServerRequest& request);
  HttpServerResponse route(const HttpServerRequest& request, RequestContext& ctx);
  HttpServerResponse serveResource(const HttpServerRequest& request, RequestContext& ctx);
  HttpServerResponse tokenRequestEndpoint(const HttpServerRequest& request, RequestContext& ctx);
  HttpServerResponse tokenReviewEndpoint(const HttpServerRequest& request);
  HttpServerResponse listOrWatch(const HttpServerRequest& request, RequestContext& ctx);
  HttpServerResponse watch(const HttpServerRequest& request, RequestContext& ctx);
  void runWatch(const std::shared_ptr<WatchState>& state, StreamWriter& writer);

  // Operations on the store; all expect mu_ held. They return the object (or Status) to send.
  struct OpResult {
    std::optional<kube::ApiError> error;
    int code = 200;
    nlohmann::json body;
  };
  OpResult createLocked(const kube::ResourceType& type, const std::string& ns,
                        nlohmann::json object, const RequestContext& ctx, bool keep_status,
                        const kube::ManagedFields* managed = nullptr);
  OpResult updateLocked(const kube::ResourceType& type, const std::string& ns,
                        const std::string& name, nlohmann::json object, const RequestContext& ctx,
                        const std::string& subresource);
  OpResult patchLocked(const kube::ResourceType& type, const std::string& ns,
                       const std::string& name, const HttpServerRequest& request,
                       const RequestContext& ctx, const std::string& subresource);
  OpResult applyLocked(const kube::ResourceType& type, const std::string& ns,
                       const std::string& name, nlohmann::json applied, const RequestContext& ctx,
                       const std::string& subresource, bool force);
  OpResult deleteLocked(const kube::ResourceType& type, const std::string& ns,
                        const std::string& name, const nlohmann::json& options,
                        const std::string& propagation, const RequestContext& ctx);
  // Validates, bumps generation and resourceVersion, stores and records an update of `old`
  // into `candidate`; deletes when the last finalizer of a deleting object went away.
  OpResult commitUpdateLocked(const kube::ResourceType& type, const std::string& ns,
                              const std::string& name, kube::StoredObject* stored,
                              nlohmann::json candidate, const RequestContext& ctx,
                              const std::string& subresource, const std::string& verb,
                              const kube::ManagedFields* managed = nullptr);
  void removeLocked(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                    bool orphan);
  void collectDependentsLocked(const std::string& owner_uid);
  bool uidExistsLocked(const std::string& uid) const;
  // Stores `candidate` as the next version of `stored` (new resourceVersion, MODIFIED event).
  void storeModifiedLocked(const std::string& storage_key, const std::string& ns,
                           const std::string& name, kube::StoredObject* stored,
                           nlohmann::json candidate);
  const kube::ResourceType* typeForStorageKeyLocked(const std::string& storage_key) const;
  void logWriteLocked(const std::string& verb, const kube::ResourceType& type,
                      const std::string& subresource, const std::string& ns,
                      const std::string& name, const RequestContext& ctx, bool changed);
  nlohmann::json presentLocked(const kube::ResourceType& type, const std::string& version,
                               const nlohmann::json& stored) const;
  std::string storageVersion(const kube::ResourceType& type) const;
  std::string nowTime() const;
  std::string newUid();

  // Starts server_ on options_.port (the first time 0 picks a free port, kept for restarts).
  absl::Status listen();

  KubeDoubleOptions options_;
  common::Clock* clock_;
  std::unique_ptr<HttpServer> server_;
  // Serialises restartServer(); server_ is only replaced under it, while no handler runs.
  std::mutex restart_mu_;
  // Set once the first server is listening: read without locks by baseUrl(), port() and the
  // handlers, which server_ (replaced by a restart) cannot serve safely.
  std::string base_url_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> restarts_{0};

  mutable std::mutex mu_;
  // Signalled on every change and on closeWatches()/shutdown; watch streams wait on it.
  std::condition_variable changed_;
  kube::ResourceRegistry registry_;
  kube::ObjectStore store_;
  std::map<std::string, std::string> tokens_;
  vault::FaultInjector faults_;
  std::map<std::pair<std::string, std::string>, uint64_t> counters_;
  uint64_t total_requests_ = 0;
  std::vector<KubeWriteRecord> write_log_;
  bool force_gone_ = false;
  uint64_t watch_epoch_ = 0;  // bumped by closeWatches()
  size_t open_watches_ = 0;
  bool stopping_ = false;
  uint64_t uid_counter_ = 0;
};

}  // namespace secretsync::test
