#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "pkg/common/clock.h"
#include "pkg/kube/informer.h"
#include "pkg/kube/kube_client.h"
#include "pkg/metrics/metrics.h"
#include "pkg/sync/cluster_store_source.h"
#include "pkg/sync/reconcile_context.h"
#include "pkg/sync/secret_data_builder.h"
#include "pkg/sync/secret_writer.h"

namespace secretsync::sync {

// What one reconcile asks of the queue.
struct ReconcileResult {
  enum class Next {
    kForget,        // nothing to do until the object changes (deleted, terminal error, once)
    kRequeueAfter,  // success: come back after `after` (the next refresh)
    kRetry,         // a failure worth retrying: per-key backoff
  };
  Next next = Next::kForget;
  std::chrono::nanoseconds after{0};
};

// The failure reason of a reconcile error, from the fixed set the metrics label with.
metrics::FailureReason failureReason(const absl::Status& status);

struct ExternalSecretReconcilerOptions {
  // Spread of periodic refreshes (see jitteredRefresh).
  double refresh_spread = 0.1;
};

// Reconciles one ExternalSecret (ESO's semantics, kubernetes-api.md §1, anchors-eso-vso.md §1.3):
//  1. gone or being deleted → nothing (an Owner Secret goes with it by garbage collection);
//  2. invalid or unsupported spec → Ready=False naming the field, no retry until it changes;
//  3. a store with another spec.controller → not ours, untouched;
//  4. no refresh due (the spec, labels and annotations are as last synced — ESO's
//     syncedResourceVersion —, the refresh interval has not passed, and the Secret still holds
//     what we wrote) → no store read, no write; refreshPolicy CreatedOnce and OnChange and a zero
//     interval as ESO;
//  5. otherwise build the data through the Fetcher and write the Secret only when it differs;
//  6. status (Ready SecretSynced/SecretSyncedError, refreshTime, syncedResourceVersion, binding)
//     written only when it changes. refreshTime is the last time the data was written or the
//     condition changed, not every check: a refresh that finds nothing new writes nothing at all.
//     The last check time is kept in memory, so after a restart every ExternalSecret is read once.
// A failure never deletes, empties or rewrites the Secret (invariant 1): it sets Ready=False,
// records a Warning event and retries with backoff (or waits for a change, when terminal).
//
// Thread-safety: reconcile() may run on many workers at once for different keys (the queue never
// hands one key to two workers). Every dependency must outlive the reconciler.
class ExternalSecretReconciler {
 public:
  struct Deps {
    kube::KubeClient* client = nullptr;
    const kube::Informer* external_secrets = nullptr;
    // Secrets labelled reconcile.external-secrets.io/managed=true; others are read with a GET.
    const kube::Informer* managed_secrets = nullptr;
    ClusterStoreSource* stores = nullptr;
    const SecretDataBuilder* builder = nullptr;
    common::Clock* clock = nullptr;
  };

  ExternalSecretReconciler(Deps deps, ReconcileContext context,
                           ExternalSecretReconcilerOptions options);

  // Reconciles "namespace/name".
  ReconcileResult reconcile(const std::string& key);

 private:
  // One reconcile; *ok says whether it ended without an error (for ESO's sync-call counters).
  ReconcileResult run(const std::string& ns, const std::string& name, bool* ok);
  ReconcileResult fail(const nlohmann::json& object, const api::ExternalSecret& es,
                       const absl::Status& status, bool retry, const std::string& store);
  absl::Status writeStatus(const nlohmann::json& object, const api::ExternalSecret& es,
                           api::ExternalSecretStatus status);
  absl::StatusOr<nlohmann::json> targetSecret(const std::string& namespace_name,
                                              const std::string& name, bool* found);

  const Deps deps_;
  const ReconcileContext context_;
  const ExternalSecretReconcilerOptions options_;

  std::mutex mu_;
  // key -> when the data was last checked against the store (successfully).
  std::map<std::string, common::SystemTime> last_check_ ABSL_GUARDED_BY(mu_);
};

// ESO's status.syncedResourceVersion: "<generation>-<hash of labels and annotations>", so a label
// or annotation change (force-sync) triggers a refresh.
std::string syncedResourceVersion(const api::ObjectMeta& meta);

}  // namespace secretsync::sync
