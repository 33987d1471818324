#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "pkg/kube/informer.h"
#include "pkg/kube/kube_client.h"
#include "pkg/metrics/metrics.h"
#include "pkg/store/fetcher.h"
#include "pkg/sync/cluster_store_source.h"
#include "pkg/sync/external_secret_reconciler.h"
#include "pkg/sync/kube_credential_source.h"
#include "pkg/sync/secret_data_builder.h"
#include "pkg/sync/store_resolver.h"
#include "pkg/sync/store_status_reconciler.h"
#include "pkg/sync/work_queue.h"

namespace secretsync::sync {

struct ControllerOptions {
  // Watch ExternalSecrets and SecretStores of this namespace only; "" = all.
  std::string namespace_name;
  // Workers reconciling at once (ESO's --concurrent).
  int concurrent = 1;
  // Shared by both reconcilers. Its metrics (every metric of the engine: ESO's, controller-
  // runtime's workqueue_* and reconcile series, ours) also serve the queue.
  ReconcileContext context;
  ExternalSecretReconcilerOptions external_secrets;
  StoreStatusReconcilerOptions stores;
  WorkQueueOptions queue;
  StoreResolverOptions resolver;
  KubeCredentialSourceOptions credentials;
  store::FetcherOptions fetcher;
  // Informer tuning (tests shorten the watch timeout).
  std::chrono::seconds min_watch_timeout{300};
};

// The `secretsync controller` engine: informers for ExternalSecrets, (Cluster)SecretStores,
// Namespaces and the Secrets we manage; one deduplicating work queue; `concurrent` workers running
// the ExternalSecret and store reconcilers. What enqueues what:
//  - an ExternalSecret added (never synced ones first), or changed in spec, labels, annotations
//    or deletion (status-only changes, our own writes among them, do not requeue it);
//  - a store added or changed: the store itself and every ExternalSecret using it;
//  - a managed Secret deleted, or changed so that it no longer holds what we wrote (someone
//    edited it): its owning ExternalSecret, which rewrites it;
//  - a Namespace's labels changed: its ExternalSecrets (ClusterSecretStore conditions);
//  - the reconcilers' own results: the next refresh, or a backoff retry.
// Informers start with start() and keep the caches warm; workers start with startWorkers(), so a
// standby replica (leader election) is ready to take over at once.
//
// Thread-safety: start(), startWorkers() and stop() from one owner thread; ready() from any.
// The client and clock must outlive the controller. The destructor stops it.
class Controller {
 public:
  static absl::StatusOr<std::unique_ptr<Controller>> create(kube::KubeClient& client,
                                                            common::Clock& clock,
                                                            ControllerOptions options);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the informers.
  void start();
  // Starts the workers (once the caches have synced, they begin with the listed objects).
  void startWorkers();
  // Stops workers, queue and informers. Idempotent.
  void stop();

  // OK once every informer has listed; otherwise the message names the caches not synced.
  absl::Status ready() const;

  WorkQueue& queue() { return *queue_; }
  const store::Fetcher& fetcher() const { return *fetcher_; }

 private:
  Controller(kube::KubeClient& client, common::Clock& clock, ControllerOptions options);

  // Every informer, in start order.
  std::vector<kube::Informer*> informers() const;
  void enqueueExternalSecret(const nlohmann::json& object, bool first);
  void enqueueUsersOfStore(const nlohmann::json& store);
  void enqueueNamespace(const std::string& namespace_name);
  void work();
  void process(const std::string& key);

  kube::KubeClient& client_;
  common::Clock& clock_;
  const ControllerOptions options_;

  std::unique_ptr<WorkQueueObserver> queue_metrics_;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<store::Fetcher> fetcher_;
  std::unique_ptr<KubeCredentialSource> credentials_;
  std::unique_ptr<StoreResolver> resolver_;
  std::unique_ptr<kube::Informer> external_secrets_;
  std::unique_ptr<kube::Informer> secret_stores_;
  std::unique_ptr<kube::Informer> cluster_secret_stores_;
  std::unique_ptr<kube::Informer> namespaces_;
  std::unique_ptr<kube::Informer> managed_secrets_;
  std::unique_ptr<ClusterStoreSource> stores_;
  std::unique_ptr<SecretDataBuilder> builder_;
  std::unique_ptr<ExternalSecretReconciler> es_reconciler_;
  std::unique_ptr<StoreStatusReconciler> store_reconciler_;

  std::vector<std::thread> workers_;
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> active_workers_{0};
};

}  // namespace secretsync::sync
