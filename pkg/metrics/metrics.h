#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "pkg/common/clock.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace secretsync::metrics {

// What a refresh delivered to: label `kind` of secretsync_refresh_* and of the per-object series.
enum class ObjectKind { kExternalSecret, kCsi, kFile };
// @return "externalsecret", "csi" or "file".
std::string_view kindLabel(ObjectKind kind);

// Why a refresh failed: label `reason` of secretsync_refresh_failures_total. A fixed set, so the
// label can never carry an error message (which may name a path) and its cardinality is bounded.
// The same names as the controller's failure reasons (pkg/sync).
enum class FailureReason {
  kInvalidSpec,       // "invalid_spec": the object itself is wrong (terminal until it changes)
  kStoreNotFound,     // "store_not_found": the referenced SecretStore does not exist
  kStoreAuth,         // "store_auth": login failed or the token was refused
  kStoreUnavailable,  // "store_unavailable": no answer, 5xx, 429, a timeout
  kSecretNotFound,    // "secret_not_found": the secret, version or property does not exist
  kPermissionDenied,  // "permission_denied": the store refused the read (403)
  kKubeWrite,         // "kube_write": writing the Secret or the status failed
  kConflict,          // "conflict": the target Secret belongs to someone else
  kOther,             // "other"
};
std::string_view reasonLabel(FailureReason reason);
// @return the reason named `label`, kOther for a name outside the set (so a caller's typo can
// never add a label value).
FailureReason reasonFromLabel(std::string_view label);
// @return the reason a store error's canonical code stands for (Unavailable → kStoreUnavailable,
// ...). Callers that know better (a Kubernetes write failed) pass their own reason.
FailureReason reasonFromStatus(const absl::Status& status);

// ESO's condition types and statuses (label values `condition` and `status`).
enum class Condition { kReady, kDeleted };
enum class ConditionStatus { kTrue, kFalse, kUnknown };
enum class StoreKind { kSecretStore, kClusterSecretStore };
// controller-runtime's reconcile results (label `result` of controller_runtime_reconcile_total).
enum class ReconcileResult { kSuccess, kError, kRequeue, kRequeueAfter };

struct MetricsOptions {
  // true: ExternalSecrets and other synced objects get their own series (ESO's labels `name`,
  // `namespace`). false, for installations with very many objects: no series carries an object's
  // name; instead
  //   externalsecret_sync_calls_total / _sync_calls_error   {namespace}: sums over the namespace
  //   externalsecret_status_condition {namespace, condition, status}: the NUMBER of objects of the
  //       namespace in that condition (per-object mode: 0/1 per object, so sum by (namespace, ...)
  //       gives the same numbers in both modes)
  //   externalsecret_reconcile_duration: not exported (a per-object "last value" cannot be summed)
  //   secretsync_last_success_timestamp_seconds {kind, namespace}: the OLDEST last success of the
  //       namespace's objects
  //   secretsync_refresh_interval_seconds: not exported
  // secretsync_stale_objects {kind, namespace} is the same in both modes. Stores, queues, Vault
  // and Kubernetes request series never carry object names and do not change. The flag bounds the
  // number of series, not memory: each object still costs one small map entry.
  bool per_object_labels = true;
  // Time for timestamps and staleness; null: the real clock.
  common::Clock* clock = nullptr;
};

// The work-queue observer: controller-runtime's workqueue_* series of one named queue
// ({name, controller}, both the queue's name, as controller-runtime labels them). A cheap handle
// obtained from Metrics::workQueue(); its methods are those of sync::WorkQueueObserver, so the
// adaptor implementing that interface only forwards.
//
// Thread-safety: every method may be called from any thread.
class WorkQueueMetrics {
 public:
  // workqueue_depth: keys waiting to be handed out.
  void onDepth(int64_t depth);
  // workqueue_adds_total + 1 (a key that was not already waiting).
  void onAdd();
  // workqueue_retries_total + 1 (a rate-limited re-add after a failure).
  void onRetry();
  // workqueue_queue_duration_seconds: how long a key waited before a worker took it.
  void onQueueLatency(std::chrono::duration<double> latency);
  // workqueue_work_duration_seconds: how long a worker took.
  void onWorkDuration(std::chrono::duration<double> duration);
  // workqueue_unfinished_work_seconds (the sum of how long each running key has run so far) and
  // workqueue_longest_running_processor_seconds. Metrics::setQueueInFlightSource reads them at
  // each scrape instead.
  void setInFlight(std::chrono::duration<double> unfinished_total,
                   std::chrono::duration<double> longest) const;

 private:
  friend class Metrics;
  WorkQueueMetrics() = default;
  prometheus::Gauge* depth_ = nullptr;
  prometheus::Counter* adds_ = nullptr;
  prometheus::Counter* retries_ = nullptr;
  prometheus::Histogram* queue_duration_ = nullptr;
  prometheus::Histogram* work_duration_ = nullptr;
  prometheus::Gauge* unfinished_ = nullptr;
  prometheus::Gauge* longest_ = nullptr;
};

// The in-flight work of a queue at one moment: {unfinished total, longest}.
using InFlight = std::pair<std::chrono::duration<double>, std::chrono::duration<double>>;

// Every metric secretsync exports is declared here, once (Envoy's stats-struct idea), so names,
// help texts, label sets and buckets are reviewed in one place (metrics.cc lists them all).
// Callers record through the typed methods below and never touch prometheus-cpp. Labels never
// carry a secret, a token or a secret path: object names, kinds, store names, operations reduced
// to a method and a path template ("GET secret/*"), and reasons and codes from fixed sets.
//
// It is itself the Collectable to expose: the registry's families, the per-object families
// computed at scrape time from a small per-object state (so an object's series go away with it
// and staleness is judged at scrape time), and counters read from components that already count.
//
// Thread-safety: all methods may be called from many threads at once (prometheus-cpp's metrics
// are atomic; the per-object state is guarded by one mutex, held only for a map update).
class Metrics final : public prometheus::Collectable {
 public:
  struct BuildInfo {
    std::string version;
    std::string commit;
  };

  Metrics(std::shared_ptr<prometheus::Registry> registry, const BuildInfo& build,
          MetricsOptions options = {});

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }
  bool perObjectLabels() const { return options_.per_object_labels; }

  // --- ESO's ExternalSecret series (names and labels as ESO's esmetrics) ---

  // One reconcile of ExternalSecret `namespace_name`/`name`, refresh skipped or not (ESO counts
  // every reconcile):
  //   externalsecret_sync_calls_total{name, namespace} + 1
  //   externalsecret_sync_calls_error{name, namespace} + 1 when !ok
  //   externalsecret_reconcile_duration{name, namespace} = duration in nanoseconds (ESO: a gauge)
  void recordSync(std::string_view namespace_name, std::string_view name, bool ok,
                  std::chrono::nanoseconds duration);
  // externalsecret_status_condition{name, namespace, condition, status}, as ESO: the given series
  // is 1, the opposite status of Ready is 0, and Ready and Deleted exclude each other.
  void setCondition(std::string_view namespace_name, std::string_view name, Condition condition,
                    ConditionStatus status);

  // --- SecretStore / ClusterSecretStore (secretstore_*, clustersecretstore_*) ---

  // {secret,clustersecret}store_status_condition{name, namespace, condition="Ready", status}
  // (namespace "" for a ClusterSecretStore, as ESO).
  void setStoreReady(StoreKind kind, std::string_view namespace_name, std::string_view name,
                     ConditionStatus status);
  // {secret,clustersecret}store_reconcile_duration{name, namespace}, nanoseconds (ESO's gauge).
  void recordStoreReconcile(StoreKind kind, std::string_view namespace_name, std::string_view name,
                            std::chrono::nanoseconds duration);
  // Drops every series of a deleted store.
  void removeStore(StoreKind kind, std::string_view namespace_name, std::string_view name);
  // @return the `store` label of our own series: "SecretStore/<namespace>/<name>" or
  // "ClusterSecretStore/<name>".
  static std::string storeLabel(StoreKind kind, std::string_view namespace_name,
                                std::string_view name);

  // --- Refreshes (ours) ---

  // One refresh (read from the store and delivery), failed ones included:
  //   secretsync_refresh_duration_seconds{kind, store}
  void recordRefresh(ObjectKind kind, std::string_view store, std::chrono::nanoseconds duration);
  //   secretsync_refresh_failures_total{kind, store, reason} + 1
  void recordFailure(ObjectKind kind, std::string_view store, FailureReason reason);
  // The object's data was last confirmed current at `when`:
  //   secretsync_last_success_timestamp_seconds{kind, namespace, name}
  void setLastSuccess(ObjectKind kind, std::string_view namespace_name, std::string_view name,
                      common::SystemTime when);
  // How often the object is meant to refresh; 0 = never (ESO's refreshInterval: 0, synced once).
  //   secretsync_refresh_interval_seconds{kind, namespace, name}
  // With it, the object counts in secretsync_stale_objects{kind, namespace} while its last
  // success (or, never synced, its first sighting) is older than twice the interval.
  void setRefreshInterval(ObjectKind kind, std::string_view namespace_name, std::string_view name,
                          std::chrono::seconds interval);
  // The object is gone: every series of it goes (for kExternalSecret ESO's series too); in
  // aggregated mode it stops counting in its namespace's condition and staleness numbers.
  void removeObject(ObjectKind kind, std::string_view namespace_name, std::string_view name);

  // --- Store and Kubernetes clients ---

  // One HTTP attempt to Vault. `status` is the HTTP status, 0 when the request failed below HTTP.
  //   secretsync_vault_requests_total{operation, status_class}
  //   secretsync_vault_request_duration_seconds{operation}
  void observeVaultRequest(std::string_view method, std::string_view path_template, int status,
                           std::chrono::nanoseconds duration);
  // A Vault token of `store`, held for one identity (`identity` is only a key, never a label),
  // now has `ttl` left / expires at `expires_at`. secretsync_vault_token_ttl_seconds{store} is,
  // at each scrape, the shortest time left among the store's tokens (negative once expired).
  void setTokenTtl(std::string_view store, std::string_view identity, std::chrono::seconds ttl);
  void setTokenExpiry(std::string_view store, std::string_view identity,
                      common::SystemTime expires_at);
  void removeToken(std::string_view store, std::string_view identity);
  // One request to the Kubernetes API: verb ("get", "list", "watch", "create", "update", "patch",
  // "delete"), resource ("secrets", "externalsecrets", ...), HTTP code (0: no HTTP answer).
  //   secretsync_kube_requests_total{verb, resource, code}
  void recordKubeRequest(std::string_view verb, std::string_view resource, int code);

  // --- Controller engine (controller-runtime's names) ---

  // The work-queue observer of queue `name` (its series are created now, at 0).
  WorkQueueMetrics workQueue(std::string_view name);
  // Reads the in-flight gauges of queue `name` from `read` at each scrape (e.g. WorkQueue::stats).
  void setQueueInFlightSource(std::string_view name, std::function<InFlight()> read);
  //   controller_runtime_reconcile_total{controller, result} + 1
  //   controller_runtime_reconcile_errors_total{controller} + 1 on kError
  //   controller_runtime_reconcile_time_seconds{controller}
  void recordReconcile(std::string_view controller, ReconcileResult result,
                       std::chrono::nanoseconds duration);
  //   controller_runtime_active_workers{controller}, controller_runtime_max_concurrent_reconciles
  void setWorkers(std::string_view controller, int64_t active, int64_t max_concurrent);

  // --- CSI provider ---

  // One CSI Mount. `error_code` is empty on success, else MountResponse.error.code
  // ("PermissionDenied", ...).
  //   secretsync_csi_mount_duration_seconds (every mount)
  //   secretsync_csi_mount_errors_total{code}
  void observeCsiMount(std::string_view error_code, std::chrono::nanoseconds duration);

  // Exports a counter whose value `read` returns at each scrape (a monotonic count kept elsewhere).
  void addCounterSource(std::string name, std::string help, std::function<double()> read);

  // prometheus::Collectable
  std::vector<prometheus::MetricFamily> Collect() const override;

  // @return "2xx", "4xx", "5xx" ... for an HTTP status, "error" for 0 (no HTTP answer).
  static std::string statusClass(int status);

 private:
  // One synced object's state, from which its series are computed at scrape time.
  struct ObjectState {
    common::SystemTime first_seen;
    std::optional<common::SystemTime> last_success;
    std::optional<std::chrono::seconds> refresh_interval;
    // ExternalSecrets only: ESO's counters (per-object mode), last reconcile, conditions.
    double sync_calls = 0;
    double sync_errors = 0;
    std::optional<double> reconcile_ns;
    std::optional<Condition> condition;
    ConditionStatus status = ConditionStatus::kUnknown;
  };
  struct StoreState {
    std::optional<ConditionStatus> ready;
    std::optional<double> reconcile_ns;
  };
  using ObjectKey = std::tuple<ObjectKind, std::string, std::string>;  // kind, namespace, name
  using StoreKey = std::tuple<StoreKind, std::string, std::string>;
  using TokenKey = std::pair<std::string, std::string>;  // store, identity

  common::SystemTime now() const;
  ObjectState& objectLocked(ObjectKind kind, std::string_view namespace_name,
                            std::string_view name);
  void collectObjects(std::vector<prometheus::MetricFamily>& out) const;
  void collectStores(std::vector<prometheus::MetricFamily>& out) const;
  void collectTokens(std::vector<prometheus::MetricFamily>& out) const;

  std::shared_ptr<prometheus::Registry> registry_;
  const MetricsOptions options_;
  common::Clock& clock_;
  prometheus::Family<prometheus::Counter>& vault_requests_;
  prometheus::Family<prometheus::Histogram>& vault_request_duration_;
  prometheus::Histogram& csi_mount_duration_;
  prometheus::Family<prometheus::Counter>& csi_mount_errors_;
  prometheus::Family<prometheus::Histogram>& refresh_duration_;
  prometheus::Family<prometheus::Counter>& refresh_failures_;
  prometheus::Family<prometheus::Counter>& kube_requests_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Counter>& queue_adds_;
  prometheus::Family<prometheus::Counter>& queue_retries_;
  prometheus::Family<prometheus::Histogram>& queue_duration_;
  prometheus::Family<prometheus::Histogram>& work_duration_;
  prometheus::Family<prometheus::Gauge>& unfinished_work_;
  prometheus::Family<prometheus::Gauge>& longest_running_;
  prometheus::Family<prometheus::Counter>& reconcile_total_;
  prometheus::Family<prometheus::Counter>& reconcile_errors_;
  prometheus::Family<prometheus::Histogram>& reconcile_time_;
  prometheus::Family<prometheus::Gauge>& active_workers_;
  prometheus::Family<prometheus::Gauge>& max_concurrent_;

  mutable std::mutex mu_;
  std::map<ObjectKey, ObjectState> objects_;
  // Aggregated mode: ESO's counters per namespace; they outlive the objects, as counters must.
  std::map<std::string, std::pair<double, double>> namespace_sync_calls_;
  std::map<StoreKey, StoreState> stores_;
  std::map<TokenKey, common::SystemTime> token_expiry_;

  struct CounterSource {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  mutable std::mutex sources_mu_;
  std::vector<CounterSource> sources_;
  std::vector<std::pair<WorkQueueMetrics, std::function<InFlight()>>> in_flight_sources_;
};

}  // namespace secretsync::metrics
