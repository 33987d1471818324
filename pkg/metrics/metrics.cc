#include "pkg/metrics/metrics.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"

namespace secretsync::metrics {
namespace {

using common::av;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Seconds from 1 ms to 60 s: a loopback read is ~1 ms, Vault's client gives up at 60 s.
const prometheus::Histogram::BucketBoundaries& latencyBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *kBuckets;
}

// controller-runtime's workqueue buckets: prometheus.ExponentialBuckets(10e-9, 10, 12), 10 ns to
// 1000 s, so queue dashboards written for controller-runtime read ours unchanged.
const prometheus::Histogram::BucketBoundaries& queueBuckets() {
  static const auto* const kBuckets = [] {
    auto* buckets = new prometheus::Histogram::BucketBoundaries;
    double bound = 10e-9;
    for (int i = 0; i < 12; ++i, bound *= 10) {
      buckets->push_back(bound);
    }
    return buckets;
  }();
  return *kBuckets;
}

// controller-runtime's reconcile_time_seconds buckets.
const prometheus::Histogram::BucketBoundaries& reconcileBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
      0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
      6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
  return *kBuckets;
}

double seconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

double unixSeconds(common::SystemTime time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

std::string_view conditionLabel(Condition condition) {
  return condition == Condition::kReady ? "Ready" : "Deleted";
}

std::string_view statusLabel(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      break;
  }
  return "Unknown";
}

std::string_view resultLabel(ReconcileResult result) {
  switch (result) {
    case ReconcileResult::kSuccess:
      return "success";
    case ReconcileResult::kError:
      return "error";
    case ReconcileResult::kRequeue:
      return "requeue";
    case ReconcileResult::kRequeueAfter:
      break;
  }
  return "requeue_after";
}

ClientMetric gaugeSample(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

ClientMetric counterSample(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = value;
  return metric;
}

std::vector<ClientMetric::Label> objectLabels(std::string_view namespace_name,
                                              std::string_view name) {
  return {{"name", std::string(name)}, {"namespace", std::string(namespace_name)}};
}

}  // namespace

std::string_view kindLabel(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kExternalSecret:
      return "externalsecret";
    case ObjectKind::kCsi:
      return "csi";
    case ObjectKind::kFile:
      break;
  }
  return "file";
}

std::string_view reasonLabel(FailureReason reason) {
  switch (reason) {
    case FailureReason::kInvalidSpec:
      return "invalid_spec";
    case FailureReason::kStoreNotFound:
      return "store_not_found";
    case FailureReason::kStoreAuth:
      return "store_auth";
    case FailureReason::kStoreUnavailable:
      return "store_unavailable";
    case FailureReason::kSecretNotFound:
      return "secret_not_found";
    case FailureReason::kPermissionDenied:
      return "permission_denied";
    case FailureReason::kKubeWrite:
      return "kube_write";
    case FailureReason::kConflict:
      return "conflict";
    case FailureReason::kOther:
      break;
  }
  return "other";
}

FailureReason reasonFromLabel(std::string_view label) {
  for (const FailureReason reason :
       {FailureReason::kInvalidSpec, FailureReason::kStoreNotFound, FailureReason::kStoreAuth,
        FailureReason::kStoreUnavailable, FailureReason::kSecretNotFound,
        FailureReason::kPermissionDenied, FailureReason::kKubeWrite, FailureReason::kConflict}) {
    if (reasonLabel(reason) == label) {
      return reason;
    }
  }
  return FailureReason::kOther;
}

FailureReason reasonFromStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return FailureReason::kStoreUnavailable;
    case absl::StatusCode::kPermissionDenied:
      return FailureReason::kPermissionDenied;
    case absl::StatusCode::kUnauthenticated:
      return FailureReason::kStoreAuth;
    case absl::StatusCode::kNotFound:
      return FailureReason::kSecretNotFound;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return FailureReason::kInvalidSpec;
    default:
      return FailureReason::kOther;
  }
}

// --- WorkQueueMetrics ---

void WorkQueueMetrics::onDepth(int64_t depth) { depth_->Set(static_cast<double>(depth)); }

void WorkQueueMetrics::onAdd() { adds_->Increment(); }

void WorkQueueMetrics::onRetry() { retries_->Increment(); }

void WorkQueueMetrics::onQueueLatency(std::chrono::duration<double> latency) {
  queue_duration_->Observe(latency.count());
}

void WorkQueueMetrics::onWorkDuration(std::chrono::duration<double> duration) {
  work_duration_->Observe(duration.count());
}

void WorkQueueMetrics::setInFlight(std::chrono::duration<double> unfinished_total,
                                   std::chrono::duration<double> longest) const {
  unfinished_->Set(unfinished_total.count());
  longest_->Set(longest.count());
}

// --- Metrics: the declarations ---
//
// Registered families (prometheus-cpp keeps their series):
//   secretsync_build_info{version, commit}                                   gauge, always 1
//   secretsync_vault_requests_total{operation, status_class}                 counter
//   secretsync_vault_request_duration_seconds{operation}                     histogram
//   secretsync_csi_mount_duration_seconds                                    histogram
//   secretsync_csi_mount_errors_total{code}                                  counter
//   secretsync_refresh_duration_seconds{kind, store}                         histogram
//   secretsync_refresh_failures_total{kind, store, reason}                   counter
//   secretsync_kube_requests_total{verb, resource, code}                     counter
//   workqueue_{depth, adds_total, retries_total, queue_duration_seconds, work_duration_seconds,
//     unfinished_work_seconds, longest_running_processor_seconds}{name, controller}
//   controller_runtime_reconcile_total{controller, result}                   counter
//   controller_runtime_reconcile_errors_total{controller}                    counter
//   controller_runtime_reconcile_time_seconds{controller}                    histogram
//   controller_runtime_active_workers{controller}                            gauge
//   controller_runtime_max_concurrent_reconciles{controller}                 gauge
// Computed at scrape time from the per-object state (collectObjects/Stores/Tokens below):
//   externalsecret_sync_calls_total, externalsecret_sync_calls_error         counter
//   externalsecret_status_condition, externalsecret_reconcile_duration       gauge
//   secretstore_status_condition, secretstore_reconcile_duration             gauge
//   clustersecretstore_status_condition, clustersecretstore_reconcile_duration gauge
//   secretsync_last_success_timestamp_seconds, secretsync_refresh_interval_seconds,
//   secretsync_stale_objects, secretsync_vault_token_ttl_seconds             gauge
// Read from elsewhere at scrape time: addCounterSource().

Metrics::Metrics(std::shared_ptr<prometheus::Registry> registry, const BuildInfo& build,
                 MetricsOptions options)
    : registry_(std::move(registry)),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : common::realClock()),
      vault_requests_(prometheus::BuildCounter()
                          .Name("secretsync_vault_requests_total")
                          .Help("HTTP requests sent to Vault, retries included, by operation "
                                "(method and path template) and status class.")
                          .Register(*registry_)),
      vault_request_duration_(prometheus::BuildHistogram()
                                  .Name("secretsync_vault_request_duration_seconds")
                                  .Help("Duration of one HTTP request to Vault, by operation.")
                                  .Register(*registry_)),
      csi_mount_duration_(prometheus::BuildHistogram()
                              .Name("secretsync_csi_mount_duration_seconds")
                              .Help("Duration of CSI Mount calls, failed ones included.")
                              .Register(*registry_)
                              .Add({}, latencyBuckets())),
      csi_mount_errors_(prometheus::BuildCounter()
                            .Name("secretsync_csi_mount_errors_total")
                            .Help("Failed CSI Mount calls by MountResponse error code.")
                            .Register(*registry_)),
      refresh_duration_(prometheus::BuildHistogram()
                            .Name("secretsync_refresh_duration_seconds")
                            .Help("Duration of one refresh (store reads and delivery), failed "
                                  "ones included, by kind (externalsecret, csi, file) and store.")
                            .Register(*registry_)),
      refresh_failures_(prometheus::BuildCounter()
                            .Name("secretsync_refresh_failures_total")
                            .Help("Failed refreshes by kind, store and reason.")
                            .Register(*registry_)),
      kube_requests_(prometheus::BuildCounter()
                         .Name("secretsync_kube_requests_total")
                         .Help("Requests to the Kubernetes API by verb, resource and HTTP code "
                               "(0: no HTTP answer).")
                         .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("workqueue_depth")
                       .Help("Current depth of workqueue")
                       .Register(*registry_)),
      queue_adds_(prometheus::BuildCounter()
                      .Name("workqueue_adds_total")
                      .Help("Total number of adds handled by workqueue")
                      .Register(*registry_)),
      queue_retries_(prometheus::BuildCounter()
                         .Name("workqueue_retries_total")
                         .Help("Total number of retries handled by workqueue")
                         .Register(*registry_)),
      queue_duration_(prometheus::BuildHistogram()
                          .Name("workqueue_queue_duration_seconds")
                          .Help("How long in seconds an item stays in workqueue before being "
                                "requested")
                          .Register(*registry_)),
      work_duration_(prometheus::BuildHistogram()
                         .Name("workqueue_work_duration_seconds")
                         .Help("How long in seconds processing an item from workqueue takes.")
                         .Register(*registry_)),
      unfinished_work_(prometheus::BuildGauge()
                           .Name("workqueue_unfinished_work_seconds")
                           .Help("How many seconds of work has been done that is in progress and "
                                 "hasn't been observed by work_duration.")
                           .Register(*registry_)),
      longest_running_(prometheus::BuildGauge()
                           .Name("workqueue_longest_running_processor_seconds")
                           .Help("How many seconds has the longest running processor for "
                                 "workqueue been running.")
                           .Register(*registry_)),
      reconcile_total_(prometheus::BuildCounter()
                           .Name("controller_runtime_reconcile_total")
                           .Help("Total number of reconciliations per controller")
                           .Register(*registry_)),
      reconcile_errors_(prometheus::BuildCounter()
                            .Name("controller_runtime_reconcile_errors_total")
                            .Help("Total number of reconciliation errors per controller")
                            .Register(*registry_)),
      reconcile_time_(prometheus::BuildHistogram()
                          .Name("controller_runtime_reconcile_time_seconds")
                          .Help("Length of time per reconciliation per controller")
                          .Register(*registry_)),
      active_workers_(prometheus::BuildGauge()
                          .Name("controller_runtime_active_workers")
                          .Help("Number of currently used workers per controller")
                          .Register(*registry_)),
      max_concurrent_(prometheus::BuildGauge()
                          .Name("controller_runtime_max_concurrent_reconciles")
                          .Help("Maximum number of concurrent reconciles per controller")
                          .Register(*registry_)) {
  prometheus::BuildGauge()
      .Name("secretsync_build_info")
      .Help("Always 1; the labels say which build is running.")
      .Register(*registry_)
      .Add({{"version", build.version}, {"commit", build.commit}})
      .Set(1);
}

common::SystemTime Metrics::now() const { return clock_.now(); }

// --- ESO's ExternalSecret series ---

Metrics::ObjectState& Metrics::objectLocked(ObjectKind kind, std::string_view namespace_name,
                                            std::string_view name) {
  auto [it, inserted] =
      objects_.try_emplace(ObjectKey{kind, std::string(namespace_name), std::string(name)});
  if (inserted) {
    it->second.first_seen = now();
  }
  return it->second;
}

void Metrics::recordSync(std::string_view namespace_name, std::string_view name, bool ok,
                         std::chrono::nanoseconds duration) {
  std::lock_guard lock(mu_);
  ObjectState& object = objectLocked(ObjectKind::kExternalSecret, namespace_name, name);
  object.reconcile_ns = static_cast<double>(duration.count());
  if (options_.per_object_labels) {
    object.sync_calls += 1;
    object.sync_errors += ok ? 0 : 1;
  } else {
    auto& [calls, errors] = namespace_sync_calls_[std::string(namespace_name)];
    calls += 1;
    errors += ok ? 0 : 1;
  }
}

void Metrics::setCondition(std::string_view namespace_name, std::string_view name,
                           Condition condition, ConditionStatus status) {
  std::lock_guard lock(mu_);
  ObjectState& object = objectLocked(ObjectKind::kExternalSecret, namespace_name, name);
  object.condition = condition;
  object.status = status;
}

// --- Stores ---

void Metrics::setStoreReady(StoreKind kind, std::string_view namespace_name, std::string_view name,
                            ConditionStatus status) {
  std::lock_guard lock(mu_);
  stores_[StoreKey{kind, std::string(namespace_name), std::string(name)}].ready = status;
}

void Metrics::recordStoreReconcile(StoreKind kind, std::string_view namespace_name,
                                   std::string_view name, std::chrono::nanoseconds duration) {
  std::lock_guard lock(mu_);
  stores_[StoreKey{kind, std::string(namespace_name), std::string(name)}].reconcile_ns =
      static_cast<double>(duration.count());
}

void Metrics::removeStore(StoreKind kind, std::string_view namespace_name, std::string_view name) {
  std::lock_guard lock(mu_);
  stores_.erase(StoreKey{kind, std::string(namespace_name), std::string(name)});
}

std::string Metrics::storeLabel(StoreKind kind, std::string_view namespace_name,
                                std::string_view name) {
  if (kind == StoreKind::kClusterSecretStore) {
    return absl::StrCat("ClusterSecretStore/", av(name));
  }
  return absl::StrCat("SecretStore/", av(namespace_name), "/", av(name));
}

// --- Refreshes ---

void Metrics::recordRefresh(ObjectKind kind, std::string_view store,
                            std::chrono::nanoseconds duration) {
  refresh_duration_
      .Add({{"kind", std::string(kindLabel(kind))}, {"store", std::string(store)}},
           latencyBuckets())
      .Observe(seconds(duration));
}

void Metrics::recordFailure(ObjectKind kind, std::string_view store, FailureReason reason) {
  refresh_failures_
      .Add({{"kind", std::string(kindLabel(kind))},
            {"store", std::string(store)},
            {"reason", std::string(reasonLabel(reason))}})
      .Increment();
}

void Metrics::setLastSuccess(ObjectKind kind, std::string_view namespace_name,
                             std::string_view name, common::SystemTime when) {
  std::lock_guard lock(mu_);
  objectLocked(kind, namespace_name, name).last_success = when;
}

void Metrics::setRefreshInterval(ObjectKind kind, std::string_view namespace_name,
                                 std::string_view name, std::chrono::seconds interval) {
  std::lock_guard lock(mu_);
  objectLocked(kind, namespace_name, name).refresh_interval = interval;
}

void Metrics::removeObject(ObjectKind kind, std::string_view namespace_name,
                           std::string_view name) {
  std::lock_guard lock(mu_);
  objects_.erase(ObjectKey{kind, std::string(namespace_name), std::string(name)});
}

// --- Store and Kubernetes clients ---

std::string Metrics::statusClass(int status) {
  if (status < 100 || status > 599) {
    return "error";
  }
  return absl::StrCat(status / 100, "xx");
}

void Metrics::observeVaultRequest(std::string_view method, std::string_view path_template,
                                  int status, std::chrono::nanoseconds duration) {
  const std::string operation = absl::StrCat(av(method), " ", av(path_template));
  vault_requests_.Add({{"operation", operation}, {"status_class", statusClass(status)}})
      .Increment();
  vault_request_duration_.Add({{"operation", operation}}, latencyBuckets())
      .Observe(seconds(duration));
}

void Metrics::setTokenTtl(std::string_view store, std::string_view identity,
                          std::chrono::seconds ttl) {
  setTokenExpiry(store, identity, now() + ttl);
}

void Metrics::setTokenExpiry(std::string_view store, std::string_view identity,
                             common::SystemTime expires_at) {
  std::lock_guard lock(mu_);
  token_expiry_[TokenKey{std::string(store), std::string(identity)}] = expires_at;
}

void Metrics::removeToken(std::string_view store, std::string_view identity) {
  std::lock_guard lock(mu_);
  token_expiry_.erase(TokenKey{std::string(store), std::string(identity)});
}

void Metrics::recordKubeRequest(std::string_view verb, std::string_view resource, int code) {
  kube_requests_
      .Add({{"verb", std::string(verb)},
            {"resource", std::string(resource)},
            {"code", absl::StrCat(code)}})
      .Increment();
}

// --- Controller engine ---

WorkQueueMetrics Metrics::workQueue(std::string_view name) {
  const prometheus::Labels labels{{"name", std::string(name)}, {"controller", std::string(name)}};
  WorkQueueMetrics queue;
  queue.depth_ = &queue_depth_.Add(labels);
  queue.adds_ = &queue_adds_.Add(labels);
  queue.retries_ = &queue_retries_.Add(labels);
  queue.queue_duration_ = &queue_duration_.Add(labels, queueBuckets());
  queue.work_duration_ = &work_duration_.Add(labels, queueBuckets());
  queue.unfinished_ = &unfinished_work_.Add(labels);
  queue.longest_ = &longest_running_.Add(labels);
  return queue;
}

void Metrics::setQueueInFlightSource(std::string_view name, std::function<InFlight()> read) {
  WorkQueueMetrics queue = workQueue(name);
  std::lock_guard lock(sources_mu_);
  in_flight_sources_.emplace_back(queue, std::move(read));
}

void Metrics::recordReconcile(std::string_view controller, ReconcileResult result,
                              std::chrono::nanoseconds duration) {
  const std::string name(controller);
  reconcile_total_.Add({{"controller", name}, {"result", std::string(resultLabel(result))}})
      .Increment();
  if (result == ReconcileResult::kError) {
    reconcile_errors_.Add({{"controller", name}}).Increment();
  }
  reconcile_time_.Add({{"controller", name}}, reconcileBuckets()).Observe(seconds(duration));
}

void Metrics::setWorkers(std::string_view controller, int64_t active, int64_t max_concurrent) {
  const prometheus::Labels labels{{"controller", std::string(controller)}};
  active_workers_.Add(labels).Set(static_cast<double>(active));
  max_concurrent_.Add(labels).Set(static_cast<double>(max_concurrent));
}

// --- CSI provider ---

void Metrics::observeCsiMount(std::string_view error_code, std::chrono::nanoseconds duration) {
  csi_mount_duration_.Observe(seconds(duration));
  if (!error_code.empty()) {
    csi_mount_errors_.Add({{"code", std::string(error_code)}}).Increment();
  }
}

void Metrics::addCounterSource(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(sources_mu_);
  sources_.push_back({std::move(name), std::move(help), std::move(read)});
}

// --- Scrape ---

void Metrics::collectObjects(std::vector<MetricFamily>& out) const {
  MetricFamily calls{"externalsecret_sync_calls_total",
                     "Total number of the External Secret sync calls",
                     MetricType::Counter,
                     {}};
  MetricFamily errors{"externalsecret_sync_calls_error",
                      "Total number of the External Secret sync errors",
                      MetricType::Counter,
                      {}};
  MetricFamily conditions{"externalsecret_status_condition",
                          "The status condition of a specific External Secret",
                          MetricType::Gauge,
                          {}};
  MetricFamily durations{"externalsecret_reconcile_duration",
                         "The duration time to reconcile the External Secret (nanoseconds)",
                         MetricType::Gauge,
                         {}};
  MetricFamily last_success{"secretsync_last_success_timestamp_seconds",
                            "Unix time the object's data was last confirmed current.",
                            MetricType::Gauge,
                            {}};
  MetricFamily intervals{"secretsync_refresh_interval_seconds",
                         "How often the object is meant to refresh; 0: synced once.",
                         MetricType::Gauge,
                         {}};
  MetricFamily stale{"secretsync_stale_objects",
                     "Objects whose last success (or, never synced, first sighting) is older "
                     "than twice their refresh interval.",
                     MetricType::Gauge,
                     {}};
  const common::SystemTime current = now();
  const bool per_object = options_.per_object_labels;

  // Aggregates keyed by namespace (and kind): condition counts, oldest success, stale counts.
  std::map<std::tuple<std::string, std::string_view, std::string_view>, double> condition_counts;
  std::map<std::pair<std::string_view, std::string>, double> oldest_success;
  std::map<std::pair<std::string_view, std::string>, double> stale_counts;

  for (const auto& [key, object] : objects_) {
    const auto& [kind, namespace_name, name] = key;
    const std::string_view kind_label = kindLabel(kind);
    const auto group = std::make_pair(kind_label, namespace_name);
    // Every object with an interval counts in its group's staleness, stale or not, so the
    // series exists (at 0) as soon as the group has objects.
    if (object.refresh_interval.has_value()) {
      double& count = stale_counts[group];
      const auto since = current - object.last_success.value_or(object.first_seen);
      if (object.refresh_interval->count() > 0 && since > 2 * *object.refresh_interval) {
        count += 1;
      }
    }
    if (object.last_success.has_value()) {
      const double at = unixSeconds(*object.last_success);
      if (per_object) {
        last_success.metric.push_back(gaugeSample(
            {{"kind", std::string(kind_label)}, {"name", name}, {"namespace", namespace_name}},
            at));
      } else {
        auto [it, inserted] = oldest_success.try_emplace(group, at);
        it->second = std::min(it->second, at);
      }
    }
    if (per_object && object.refresh_interval.has_value()) {
      intervals.metric.push_back(gaugeSample(
          {{"kind", std::string(kind_label)}, {"name", name}, {"namespace", namespace_name}},
          static_cast<double>(object.refresh_interval->count())));
    }
    if (kind != ObjectKind::kExternalSecret) {
      continue;
    }
    if (per_object) {
      calls.metric.push_back(counterSample(objectLabels(namespace_name, name), object.sync_calls));
      errors.metric.push_back(
          counterSample(objectLabels(namespace_name, name), object.sync_errors));
      if (object.reconcile_ns.has_value()) {
        durations.metric.push_back(
            gaugeSample(objectLabels(namespace_name, name), *object.reconcile_ns));
      }
    }
    if (!object.condition.has_value()) {
      continue;
    }
    // ESO: the condition's series is 1; for Ready True/False the opposite status is 0; Ready and
    // Deleted exclude each other (setting one deletes the other's series).
    std::vector<std::pair<ConditionStatus, double>> values{{object.status, 1}};
    if (*object.condition == Condition::kReady && object.status != ConditionStatus::kUnknown) {
      values.emplace_back(object.status == ConditionStatus::kTrue ? ConditionStatus::kFalse
                                                                  : ConditionStatus::kTrue,
                          0);
    }
    for (const auto& [status, value] : values) {
      if (per_object) {
        auto labels = objectLabels(namespace_name, name);
        labels.push_back({"condition", std::string(conditionLabel(*object.condition))});
        labels.push_back({"status", std::string(statusLabel(status))});
        conditions.metric.push_back(gaugeSample(std::move(labels), value));
      } else {
        condition_counts[{namespace_name, conditionLabel(*object.condition),
                          statusLabel(status)}] += value;
      }
    }
  }
  if (!per_object) {
    for (const auto& [namespace_name, counts] : namespace_sync_calls_) {
      calls.metric.push_back(counterSample({{"namespace", namespace_name}}, counts.first));
      errors.metric.push_back(counterSample({{"namespace", namespace_name}}, counts.second));
    }
    for (const auto& [key, count] : condition_counts) {
      const auto& [namespace_name, condition, status] = key;
      conditions.metric.push_back(gaugeSample({{"condition", std::string(condition)},
                                               {"namespace", namespace_name},
                                               {"status", std::string(status)}},
                                              count));
    }
    for (const auto& [group, at] : oldest_success) {
      last_success.metric.push_back(
          gaugeSample({{"kind", std::string(group.first)}, {"namespace", group.second}}, at));
    }
  }
  for (const auto& [group, count] : stale_counts) {
    stale.metric.push_back(
        gaugeSample({{"kind", std::string(group.first)}, {"namespace", group.second}}, count));
  }
  out.push_back(std::move(calls));
  out.push_back(std::move(errors));
  out.push_back(std::move(conditions));
  if (per_object) {
    out.push_back(std::move(durations));
    out.push_back(std::move(intervals));
  }
  out.push_back(std::move(last_success));
  out.push_back(std::move(stale));
}

void Metrics::collectStores(std::vector<MetricFamily>& out) const {
  MetricFamily conditions[2] = {{"secretstore_status_condition",
                                 "The status condition of a specific Secret Store",
                                 MetricType::Gauge,
                                 {}},
                                {"clustersecretstore_status_condition",
                                 "The status condition of a specific Cluster Secret Store",
                                 MetricType::Gauge,
                                 {}}};
  MetricFamily durations[2] = {
      {"secretstore_reconcile_duration",
       "The duration time to reconcile the Secret Store (nanoseconds)",
       MetricType::Gauge,
       {}},
      {"clustersecretstore_reconcile_duration",
       "The duration time to reconcile the Cluster Secret Store (nanoseconds)",
       MetricType::Gauge,
       {}}};
  for (const auto& [key, store] : stores_) {
    const auto& [kind, namespace_name, name] = key;
    const int index = kind == StoreKind::kSecretStore ? 0 : 1;
    if (store.ready.has_value()) {
      std::vector<std::pair<ConditionStatus, double>> values{{*store.ready, 1}};
      if (*store.ready != ConditionStatus::kUnknown) {
        values.emplace_back(*store.ready == ConditionStatus::kTrue ? ConditionStatus::kFalse
                                                                   : ConditionStatus::kTrue,
                            0);
      }
      for (const auto& [status, value] : values) {
        auto labels = objectLabels(namespace_name, name);
        labels.push_back({"condition", "Ready"});
        labels.push_back({"status", std::string(statusLabel(status))});
        conditions[index].metric.push_back(gaugeSample(std::move(labels), value));
      }
    }
    if (store.reconcile_ns.has_value()) {
      durations[index].metric.push_back(
          gaugeSample(objectLabels(namespace_name, name), *store.reconcile_ns));
    }
  }
  for (int i = 0; i < 2; ++i) {
    out.push_back(std::move(conditions[i]));
    out.push_back(std::move(durations[i]));
  }
}

void Metrics::collectTokens(std::vector<MetricFamily>& out) const {
  MetricFamily ttl{"secretsync_vault_token_ttl_seconds",
                   "Seconds until the store's first Vault token expires (negative: expired).",
                   MetricType::Gauge,
                   {}};
  const common::SystemTime current = now();
  std::map<std::string_view, double> shortest;
  for (const auto& [key, expires_at] : token_expiry_) {
    const double left = std::chrono::duration<double>(expires_at - current).count();
    auto [it, inserted] = shortest.try_emplace(key.first, left);
    it->second = std::min(it->second, left);
  }
  for (const auto& [store, left] : shortest) {
    ttl.metric.push_back(gaugeSample({{"store", std::string(store)}}, left));
  }
  out.push_back(std::move(ttl));
}

std::vector<MetricFamily> Metrics::Collect() const {
  {
    std::lock_guard lock(sources_mu_);
    for (const auto& [queue, read] : in_flight_sources_) {
      const auto [unfinished, longest] = read();
      queue.setInFlight(unfinished, longest);
    }
  }
  std::vector<MetricFamily> families = registry_->Collect();
  {
    std::lock_guard lock(mu_);
    collectObjects(families);
    collectStores(families);
    collectTokens(families);
  }
  std::lock_guard lock(sources_mu_);
  for (const CounterSource& source : sources_) {
    prometheus::ClientMetric metric;
    metric.counter.value = source.read();
    families.push_back({source.name, source.help, prometheus::MetricType::Counter, {metric}});
  }
  // A family without a series says nothing; leaving it out keeps the scrape short.
  families.erase(std::remove_if(families.begin(), families.end(),
                                [](const MetricFamily& family) { return family.metric.empty(); }),
                 families.end());
  return families;
}

}  // namespace secretsync::metrics
