#include "pkg/sync/controller.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_fields.h"
#include "pkg/sync/secret_writer.h"

namespace secretsync::sync {
namespace {

using Json = nlohmann::json;

// Queue keys: "es/<namespace>/<name>" and "store/<storeKey()>".
constexpr absl::string_view kExternalSecretPrefix = "es/";
constexpr absl::string_view kStorePrefix = "store/";

// What makes an ExternalSecret worth reconciling again; status is ours and is left out.
bool specOrMetaChanged(const Json& before, const Json& after) {
  const Json& a = common::jsonMember(before, "metadata");
  const Json& b = common::jsonMember(after, "metadata");
  return common::jsonMember(a, "generation") != common::jsonMember(b, "generation") ||
         common::jsonMember(a, "labels") != common::jsonMember(b, "labels") ||
         common::jsonMember(a, "annotations") != common::jsonMember(b, "annotations") ||
         common::jsonMember(a, "deletionTimestamp") != common::jsonMember(b, "deletionTimestamp");
}

// The store an ExternalSecret names in spec.secretStoreRef or any entry's sourceRef.storeRef.
bool usesStore(const Json& es, const std::string& kind, const std::string& name) {
  auto matches = [&](const Json& ref) {
    if (!ref.is_object() || common::jsonString(ref, "name") != name) return false;
    const std::string ref_kind = common::jsonString(ref, "kind");
    return (ref_kind.empty() ? std::string("SecretStore") : ref_kind) == kind;
  };
  const Json& spec = common::jsonMember(es, "spec");
  if (matches(common::jsonMember(spec, "secretStoreRef"))) return true;
  for (const char* list : {"data", "dataFrom"}) {
    const Json& entries = common::jsonMember(spec, list);
    if (!entries.is_array()) continue;
    for (const Json& entry : entries) {
      if (matches(common::jsonMember(common::jsonMember(entry, "sourceRef"), "storeRef"))) {
        return true;
      }
    }
  }
  return false;
}

// Forwards the queue's numbers to controller-runtime's workqueue_* series.
class QueueMetrics final : public WorkQueueObserver {
 public:
  explicit QueueMetrics(metrics::WorkQueueMetrics series) : series_(series) {}
  void onDepth(int64_t depth) override { series_.onDepth(depth); }
  void onAdd() override { series_.onAdd(); }
  void onRetry() override { series_.onRetry(); }
  void onQueueLatency(std::chrono::duration<double> latency) override {
    series_.onQueueLatency(latency);
  }
  void onWorkDuration(std::chrono::duration<double> duration) override {
    series_.onWorkDuration(duration);
  }

 private:
  metrics::WorkQueueMetrics series_;
};

// The queue's name in workqueue_* and the controller label of controller_runtime_* series.
constexpr std::string_view kQueueName = "externalsecret";

}  // namespace

absl::StatusOr<std::unique_ptr<Controller>> Controller::create(kube::KubeClient& client,
                                                               common::Clock& clock,
                                                               ControllerOptions options) {
  if (options.concurrent < 1) {
    return absl::InvalidArgumentError("--concurrent must be at least 1");
  }
  return std::unique_ptr<Controller>(new Controller(client, clock, std::move(options)));
}

Controller::Controller(kube::KubeClient& client, common::Clock& clock, ControllerOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {
  WorkQueueOptions queue_options = options_.queue;
  if (options_.context.metrics != nullptr) {
    queue_metrics_ =
        std::make_unique<QueueMetrics>(options_.context.metrics->workQueue(kQueueName));
    queue_options.observer = queue_metrics_.get();
  }
  queue_ = std::make_unique<WorkQueue>(clock_, queue_options);
  if (options_.context.metrics != nullptr) {
    options_.context.metrics->setQueueInFlightSource(kQueueName, [queue = queue_.get()] {
      const WorkQueueStats stats = queue->stats();
      return metrics::InFlight{
          std::chrono::duration<double>(stats.unfinished_work_seconds),
          std::chrono::duration<double>(stats.longest_running_processor_seconds)};
    });
    options_.context.metrics->setWorkers(kQueueName, 0, options_.concurrent);
  }
  fetcher_ = std::make_unique<store::Fetcher>(clock_, options_.fetcher);
  credentials_ = std::make_unique<KubeCredentialSource>(client_, clock_, options_.credentials);
  // Vault calls in flight when stop() begins are aborted, and their retries dropped, so that a
  // replica leaves within the kubelet's grace period even while Vault is slow or failing.
  StoreResolverOptions resolver_options = options_.resolver;
  resolver_options.transport.cancel = &stopped_;
  resolver_ = std::make_unique<StoreResolver>(*credentials_, clock_, std::move(resolver_options));

  auto informer = [&](kube::Resource resource, std::string ns, std::string label_selector,
                      kube::InformerHandlers handlers) {
    kube::InformerOptions informer_options{.resource = std::move(resource),
                                           .namespace_name = std::move(ns),
                                           .label_selector = std::move(label_selector)};
    informer_options.min_watch_timeout = options_.min_watch_timeout;
    return std::make_unique<kube::Informer>(client_, std::move(informer_options),
                                            std::move(handlers));
  };
  const std::string& ns = options_.namespace_name;
  external_secrets_ =
      informer(kube::resources::externalSecrets(), ns, "",
               {.on_add = [this](const Json& o) { enqueueExternalSecret(o, /*first=*/true); },
                .on_update =
                    [this](const Json& before, const Json& after) {
                      if (specOrMetaChanged(before, after)) enqueueExternalSecret(after, false);
                    },
                .on_delete = [this](const Json& o) { enqueueExternalSecret(o, false); }});
  auto store_handlers = [this] {
    auto changed = [this](const Json& o) {
      queue_->add(absl::StrCat(kStorePrefix, storeKey(o)));
      enqueueUsersOfStore(o);
    };
    return kube::InformerHandlers{.on_add = changed,
                                  .on_update =
                                      [changed](const Json& before, const Json& after) {
                                        if (specOrMetaChanged(before, after)) changed(after);
                                      },
                                  .on_delete = changed};
  };
  secret_stores_ = informer(kube::resources::secretStores(), ns, "", store_handlers());
  cluster_secret_stores_ =
      informer(kube::resources::clusterSecretStores(), "", "", store_handlers());
  namespaces_ =
      informer(kube::resources::namespaces(), "", "",
               {.on_update = [this](const Json& before, const Json& after) {
                 if (common::jsonMember(common::jsonMember(before, "metadata"), "labels") !=
                     common::jsonMember(common::jsonMember(after, "metadata"), "labels")) {
                   enqueueNamespace(common::metadataString(after, "name"));
                 }
               }});
  auto secret_changed = [this](const Json& secret) {
    const Json& meta = common::jsonMember(secret, "metadata");
    const Json& owners = common::jsonMember(meta, "ownerReferences");
    if (!owners.is_array()) return;
    for (const Json& owner : owners) {
      if (common::jsonString(owner, "kind") == "ExternalSecret" &&
          common::jsonBool(owner, "controller")) {
        queue_->add(absl::StrCat(kExternalSecretPrefix, common::jsonString(meta, "namespace"), "/",
                                 common::jsonString(owner, "name")));
      }
    }
  };
  managed_secrets_ =
      informer(kube::resources::secrets(), ns, absl::StrCat(common::av(kManagedLabel), "=true"),
               {.on_update =
                    [secret_changed](const Json&, const Json& after) {
                      // Our own writes leave it intact; anything else is someone else's edit to
                      // undo.
                      if (!secretIntact(after)) secret_changed(after);
                    },
                .on_delete = secret_changed});

  stores_ = std::make_unique<ClusterStoreSource>(
      StoreCaches{.secret_stores = secret_stores_.get(),
                  .cluster_secret_stores = cluster_secret_stores_.get(),
                  .namespaces = namespaces_.get()},
      *resolver_);
  builder_ = std::make_unique<SecretDataBuilder>(*stores_, *fetcher_);

  es_reconciler_ = std::make_unique<ExternalSecretReconciler>(
      ExternalSecretReconciler::Deps{.client = &client_,
                                     .external_secrets = external_secrets_.get(),
                                     .managed_secrets = managed_secrets_.get(),
                                     .stores = stores_.get(),
                                     .builder = builder_.get(),
                                     .clock = &clock_},
      options_.context, options_.external_secrets);
  store_reconciler_ = std::make_unique<StoreStatusReconciler>(
      StoreStatusReconciler::Deps{.client = &client_,
                                  .secret_stores = secret_stores_.get(),
                                  .cluster_secret_stores = cluster_secret_stores_.get(),
                                  .resolver = resolver_.get(),
                                  .clock = &clock_},
      options_.context, options_.stores);
}

Controller::~Controller() { stop(); }

void Controller::enqueueExternalSecret(const Json& object, bool first) {
  const Json& meta = common::jsonMember(object, "metadata");
  const std::string key = absl::StrCat(kExternalSecretPrefix, common::jsonString(meta, "namespace"),
                                       "/", common::jsonString(meta, "name"));
  // Never synced: ahead of routine refreshes.
  const bool never_synced =
      common::jsonString(common::jsonMember(object, "status"), "refreshTime").empty();
  queue_->add(key, first && never_synced ? Priority::kHigh : Priority::kNormal);
}

void Controller::enqueueUsersOfStore(const Json& store) {
  const std::string kind = common::jsonString(store, "kind");
  const Json& meta = common::jsonMember(store, "metadata");
  const std::string name = common::jsonString(meta, "name");
  const std::string ns = common::jsonString(meta, "namespace");
  for (const kube::ObjectPtr& es : external_secrets_->list()) {
    const std::string es_ns = common::metadataString(*es, "namespace");
    if ((kind == "ClusterSecretStore" || es_ns == ns) && usesStore(*es, kind, name)) {
      enqueueExternalSecret(*es, false);
    }
  }
}

void Controller::enqueueNamespace(const std::string& namespace_name) {
  for (const kube::ObjectPtr& es : external_secrets_->list()) {
    if (common::metadataString(*es, "namespace") == namespace_name) {
      enqueueExternalSecret(*es, false);
    }
  }
}

std::vector<kube::Informer*> Controller::informers() const {
  return {external_secrets_.get(), secret_stores_.get(), cluster_secret_stores_.get(),
          namespaces_.get(), managed_secrets_.get()};
}

void Controller::start() {
  for (kube::Informer* informer : informers()) informer->start();
}

void Controller::startWorkers() {
  if (!workers_.empty() || stopped_) return;
  for (int i = 0; i < options_.concurrent; ++i) workers_.emplace_back([this] { work(); });
}

void Controller::stop() {
  if (stopped_.exchange(true)) return;
  queue_->shutDown();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
  for (kube::Informer* informer : informers()) informer->stop();
}

absl::Status Controller::ready() const {
  std::vector<std::string> pending;
  const std::pair<const kube::Informer*, const char*> caches[] = {
      {external_secrets_.get(), "externalsecrets"},
      {secret_stores_.get(), "secretstores"},
      {cluster_secret_stores_.get(), "clustersecretstores"},
      {namespaces_.get(), "namespaces"},
      {managed_secrets_.get(), "secrets"}};
  for (const auto& [informer, name] : caches) {
    if (!informer->hasSynced()) pending.push_back(name);
  }
  if (pending.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("caches not synced: ", absl::StrJoin(pending, ", ")));
}

void Controller::work() {
  // As controller-runtime's WaitForCacheSync: a key reconciled before every cache has listed
  // would find its store "missing" and report an error that is not true.
  while (!ready().ok()) {
    if (queue_->shuttingDown()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  while (std::optional<std::string> key = queue_->get()) {
    const int64_t active = active_workers_.fetch_add(1) + 1;
    if (options_.context.metrics != nullptr) {
      options_.context.metrics->setWorkers(kQueueName, active, options_.concurrent);
    }
    process(*key);
    queue_->done(*key);
    const int64_t idle = active_workers_.fetch_sub(1) - 1;
    if (options_.context.metrics != nullptr) {
      options_.context.metrics->setWorkers(kQueueName, idle, options_.concurrent);
    }
  }
}

void Controller::process(const std::string& key) {
  const auto started = clock_.monotonicNow();
  ReconcileResult result;
  if (absl::StartsWith(key, kExternalSecretPrefix)) {
    result = es_reconciler_->reconcile(key.substr(kExternalSecretPrefix.size()));
  } else if (absl::StartsWith(key, kStorePrefix)) {
    result = store_reconciler_->reconcile(key.substr(kStorePrefix.size()));
  }
  switch (result.next) {
    case ReconcileResult::Next::kForget:
      queue_->forget(key);
      break;
    case ReconcileResult::Next::kRequeueAfter:
      queue_->forget(key);
      queue_->addAfter(key, result.after);
      break;
    case ReconcileResult::Next::kRetry:
      queue_->addRateLimited(key);
      break;
  }
  if (options_.context.metrics != nullptr) {
    const metrics::ReconcileResult outcome = result.next == ReconcileResult::Next::kRetry
                                                 ? metrics::ReconcileResult::kError
                                             : result.next == ReconcileResult::Next::kRequeueAfter
                                                 ? metrics::ReconcileResult::kRequeueAfter
                                                 : metrics::ReconcileResult::kSuccess;
    options_.context.metrics->recordReconcile(kQueueName, outcome, clock_.monotonicNow() - started);
  }
}

}  // namespace secretsync::sync
