#pragma once

#include <string>
#include <string_view>

namespace secretsync::kube {

// A collection of the Kubernetes API: group, version and plural resource name, and whether its
// objects live in namespaces. Paths are built from it (kubernetes-api.md §0.1).
struct Resource {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;

  // "v1" for the core group, "group/version" otherwise.
  std::string apiVersion() const;
  // "/api/v1" or "/apis/group/version".
  std::string groupVersionPath() const;
  // The collection path in `namespace_name` ("" = all namespaces, or a cluster-scoped kind), and
  // with `name` the object path, with `subresource` ("status", "token") after it.
  std::string path(std::string_view namespace_name, std::string_view name = {},
                   std::string_view subresource = {}) const;

  friend bool operator==(const Resource&, const Resource&) = default;
};

// The collections secretsync reads and writes.
namespace resources {
Resource secrets();
Resource configMaps();
Resource namespaces();
Resource serviceAccounts();
Resource events();  // core/v1 Event
Resource leases();  // coordination.k8s.io/v1
Resource externalSecrets(std::string_view version = "v1");
Resource secretStores(std::string_view version = "v1");
Resource clusterSecretStores(std::string_view version = "v1");
Resource secretsStoreImports();  // deckhouse.io/v1alpha1
}  // namespace resources

}  // namespace secretsync::kube
