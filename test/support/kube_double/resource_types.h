#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace secretsync::test::kube {

// What the double does specially for a resource beyond generic CRUD.
enum class ResourceBehavior {
  kGeneric,    // custom resources, leases, configmaps, ...
  kSecret,     // Secret validation, stringData, type rules
  kNamespace,  // cluster-scoped namespaces
  kEvent,      // core/v1 and events.k8s.io events
};

// One served resource: a (group, plural) with the versions it is served at. All versions share
// one storage, as a CRD with conversion strategy None does.
struct ResourceType {
  std::string group;  // "" for core
  std::vector<std::string> versions;
  std::string plural;
  std::string singular;
  std::string kind;
  bool namespaced = true;
  bool has_status = false;  // status subresource
  bool is_custom = false;   // a CR: no strategic merge patch, PUT needs a resourceVersion
  ResourceBehavior behavior = ResourceBehavior::kGeneric;
  std::vector<std::string> short_names;

  std::string listKind() const { return kind + "List"; }
  // "external-secrets.io/externalsecrets" or "/secrets": the storage identity.
  std::string storageKey() const { return group + "/" + plural; }
  // "v1" or "external-secrets.io/v1".
  std::string apiVersion(const std::string& version) const {
    return group.empty() ? version : group + "/" + version;
  }
  bool servesVersion(const std::string& version) const;
};

// The resources the double serves: the built-ins of reference §7 and the project's CRDs.
//
// Thread-safety: not thread-safe; built once, then only read (KubeDouble adds kinds under its
// lock).
class ResourceRegistry {
 public:
  // The built-in resources plus external-secrets.io, deckhouse.io and secrets-store CRDs.
  static ResourceRegistry withDefaults();

  void add(ResourceType type);
  // @return the type for (group, version, plural), or null.
  const ResourceType* find(const std::string& group, const std::string& version,
                           const std::string& plural) const;
  // @return the type for (apiVersion, kind) as found in an object, or null.
  const ResourceType* findByKind(const std::string& api_version, const std::string& kind) const;
  const std::vector<ResourceType>& types() const { return types_; }

  // Discovery documents (reference §3.2): /api, /apis, /api/v1, /apis/{g}, /apis/{g}/{v}.
  nlohmann::json coreVersions(const std::string& server_address) const;
  nlohmann::json groupList() const;
  // @return null json when the group (or version) is not served.
  nlohmann::json group(const std::string& name) const;
  nlohmann::json resourceList(const std::string& group, const std::string& version) const;

 private:
  std::vector<ResourceType> types_;
  // Group names in the order they were first added.
  std::vector<std::string> group_order_;
};

// Splits "group/version" (or "v1") into its parts.
void splitApiVersion(const std::string& api_version, std::string* group, std::string* version);

}  // namespace secretsync::test::kube
