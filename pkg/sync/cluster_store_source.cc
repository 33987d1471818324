#include "pkg/sync/cluster_store_source.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_fields.h"

namespace secretsync::sync {

ClusterStoreSource::ClusterStoreSource(StoreCaches caches, StoreResolver& resolver)
    : caches_(caches), resolver_(resolver) {}

absl::StatusOr<std::shared_ptr<const api::SecretStore>> ClusterStoreSource::store(
    const api::StoreRef& ref, std::string_view es_namespace) {
  const bool cluster = ref.kind == api::StoreKind::kClusterSecretStore;
  const kube::Informer* cache = cluster ? caches_.cluster_secret_stores : caches_.secret_stores;
  const std::string store_namespace = cluster ? "" : std::string(es_namespace);
  const std::string shown =
      absl::StrCat(common::av(api::storeKindName(ref.kind)), " \"", ref.name, "\"");
  const kube::ObjectPtr object = cache == nullptr ? nullptr : cache->get(store_namespace, ref.name);
  if (object == nullptr) {
    return absl::NotFoundError(
        cluster ? absl::StrCat(shown, " not found")
                : absl::StrCat(shown, " not found in namespace \"", store_namespace, "\""));
  }
  const std::string key =
      absl::StrCat(common::av(api::storeKindName(ref.kind)), "/", store_namespace, "/", ref.name);
  const std::string resource_version = common::metadataString(*object, "resourceVersion");
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = parsed_.find(key);
    if (it != parsed_.end() && it->second.resource_version == resource_version) {
      return it->second.store;
    }
  }
  absl::StatusOr<std::shared_ptr<const api::SecretStore>> result;
  absl::StatusOr<api::Parsed<api::SecretStore>> parsed = api::parseSecretStore(*object);
  if (!parsed.ok()) {
    result = absl::InvalidArgumentError(absl::StrCat(shown, ": ", parsed.status().message()));
  } else if (!parsed->diagnostics.ok()) {
    result = absl::InvalidArgumentError(
        absl::StrCat(shown, " is not usable: ", parsed->diagnostics.message()));
  } else {
    result = std::make_shared<const api::SecretStore>(std::move(parsed->object));
  }
  std::lock_guard<std::mutex> lock(mu_);
  parsed_[key] = Parsed{resource_version, result};
  return result;
}

std::map<std::string, std::string> ClusterStoreSource::namespaceLabels(
    std::string_view namespace_name) const {
  std::map<std::string, std::string> labels;
  if (caches_.namespaces == nullptr) return labels;
  const kube::ObjectPtr ns = caches_.namespaces->get("", namespace_name);
  if (ns == nullptr) return labels;
  const auto meta = ns->find("metadata");
  if (meta == ns->end() || !meta->is_object()) return labels;
  const auto found = meta->find("labels");
  if (found == meta->end() || !found->is_object()) return labels;
  for (const auto& [name, value] : found->items()) {
    if (value.is_string()) labels.emplace(name, value.get<std::string>());
  }
  // The API server sets this label on every Namespace (1.21+); a selector may use it.
  labels.emplace("kubernetes.io/metadata.name", std::string(namespace_name));
  return labels;
}

absl::StatusOr<ResolvedStore> ClusterStoreSource::storeFor(const api::StoreRef& ref,
                                                           std::string_view es_namespace) {
  absl::StatusOr<std::shared_ptr<const api::SecretStore>> found = store(ref, es_namespace);
  if (!found.ok()) return found.status();
  return resolver_.resolve(**found, es_namespace, namespaceLabels(es_namespace));
}

}  // namespace secretsync::sync
