#include "pkg/kube/resource.h"

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"

namespace secretsync::kube {

std::string Resource::apiVersion() const {
  return group.empty() ? version : absl::StrCat(group, "/", version);
}

std::string Resource::groupVersionPath() const {
  return group.empty() ? absl::StrCat("/api/", version)
                       : absl::StrCat("/apis/", group, "/", version);
}

std::string Resource::path(std::string_view namespace_name, std::string_view name,
                           std::string_view subresource) const {
  std::string out = groupVersionPath();
  if (namespaced && !namespace_name.empty()) {
    absl::StrAppend(&out, "/namespaces/", common::av(namespace_name));
  }
  absl::StrAppend(&out, "/", plural);
  if (!name.empty()) absl::StrAppend(&out, "/", common::av(name));
  if (!subresource.empty()) absl::StrAppend(&out, "/", common::av(subresource));
  return out;
}

namespace resources {
Resource secrets() { return {"", "v1", "secrets", "Secret", true}; }
Resource configMaps() { return {"", "v1", "configmaps", "ConfigMap", true}; }
Resource namespaces() { return {"", "v1", "namespaces", "Namespace", false}; }
Resource serviceAccounts() { return {"", "v1", "serviceaccounts", "ServiceAccount", true}; }
Resource events() { return {"", "v1", "events", "Event", true}; }
Resource leases() { return {"coordination.k8s.io", "v1", "leases", "Lease", true}; }
Resource externalSecrets(std::string_view version) {
  return {"external-secrets.io", std::string(version), "externalsecrets", "ExternalSecret", true};
}
Resource secretStores(std::string_view version) {
  return {"external-secrets.io", std::string(version), "secretstores", "SecretStore", true};
}
Resource clusterSecretStores(std::string_view version) {
  return {"external-secrets.io", std::string(version), "clustersecretstores", "ClusterSecretStore",
          false};
}
Resource secretsStoreImports() {
  return {"deckhouse.io", "v1alpha1", "secretsstoreimports", "SecretsStoreImport", true};
}
}  // namespace resources

}  // namespace secretsync::kube
