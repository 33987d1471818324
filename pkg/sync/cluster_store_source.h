#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "pkg/api/secret_store.h"
#include "pkg/kube/informer.h"
#include "pkg/sync/store_resolver.h"
#include "pkg/sync/store_source.h"

namespace secretsync::sync {

// The informer caches the controller resolves store references against.
struct StoreCaches {
  const kube::Informer* secret_stores = nullptr;          // SecretStore, all watched namespaces
  const kube::Informer* cluster_secret_stores = nullptr;  // ClusterSecretStore
  const kube::Informer* namespaces = nullptr;             // Namespace labels, for namespaceSelector
};

// StoreClientSource over the controller's informer caches: finds the (Cluster)SecretStore an
// ExternalSecret names, parses it (once per resourceVersion), and hands it to the StoreResolver.
//
// Thread-safety: all methods may be called from many threads at once; one mutex guards the
// parse cache. The caches and the resolver must outlive the source.
class ClusterStoreSource : public StoreClientSource {
 public:
  ClusterStoreSource(StoreCaches caches, StoreResolver& resolver);

  absl::StatusOr<ResolvedStore> storeFor(const api::StoreRef& ref,
                                         std::string_view es_namespace) override;

  // The parsed store `ref` names for an ExternalSecret in `es_namespace`.
  // @return kNotFound naming the store when it is not in the cache; kInvalidArgument with the
  //   diagnostics' message when its spec is invalid or uses an unsupported field.
  absl::StatusOr<std::shared_ptr<const api::SecretStore>> store(const api::StoreRef& ref,
                                                                std::string_view es_namespace);

 private:
  struct Parsed {
    std::string resource_version;
    absl::StatusOr<std::shared_ptr<const api::SecretStore>> store;
  };

  std::map<std::string, std::string> namespaceLabels(std::string_view namespace_name) const;

  const StoreCaches caches_;
  StoreResolver& resolver_;

  std::mutex mu_;
  // "<kind>/<namespace>/<name>" -> the parse of one resourceVersion.
  std::map<std::string, Parsed> parsed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace secretsync::sync
