#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "pkg/common/clock.h"
#include "pkg/kube/informer.h"
#include "pkg/kube/kube_client.h"
#include "pkg/metrics/metrics.h"
#include "pkg/sync/external_secret_reconciler.h"
#include "pkg/sync/reconcile_context.h"
#include "pkg/sync/store_resolver.h"

namespace secretsync::sync {

struct StoreStatusReconcilerOptions {
  // How often a store is validated again when its spec sets no refreshInterval (ESO's
  // --store-requeue-interval).
  std::chrono::seconds default_refresh{std::chrono::minutes(5)};
};

// Keeps a SecretStore's or ClusterSecretStore's Ready condition true to what its Vault says, as
// ESO's store controller: reason Valid after a successful login (or token lookup), and
// ValidationFailed / InvalidStoreConfiguration with the error otherwise (never a credential). A
// ClusterSecretStore whose credential references name no namespace depends on the namespace that
// uses it, so it is only checked for a valid spec (ESO's ValidationUnknown). The status is
// written only when it changes; a failure records a Warning event.
//
// Keys are "SecretStore/<namespace>/<name>" and "ClusterSecretStore/<name>" (storeKey()).
//
// Thread-safety: reconcile() may run on many workers at once for different keys. Every dependency
// must outlive the reconciler.
class StoreStatusReconciler {
 public:
  struct Deps {
    kube::KubeClient* client = nullptr;
    const kube::Informer* secret_stores = nullptr;
    const kube::Informer* cluster_secret_stores = nullptr;
    StoreResolver* resolver = nullptr;
    common::Clock* clock = nullptr;
  };

  StoreStatusReconciler(Deps deps, ReconcileContext context, StoreStatusReconcilerOptions options);

  ReconcileResult reconcile(const std::string& key);

 private:
  const Deps deps_;
  const ReconcileContext context_;
  const StoreStatusReconcilerOptions options_;
};

// The queue key of a store object (as the API returns it).
std::string storeKey(const nlohmann::json& object);

}  // namespace secretsync::sync
