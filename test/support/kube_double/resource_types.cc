#include "test/support/kube_double/resource_types.h"

#include <algorithm>

namespace secretsync::test::kube {

namespace {

ResourceType builtin(std::string group, std::string version, std::string plural,
                     std::string singular, std::string kind, bool namespaced,
                     ResourceBehavior behavior = ResourceBehavior::kGeneric,
                     std::vector<std::string> short_names = {}) {
  ResourceType t;
  t.group = std::move(group);
  t.versions = {std::move(version)};
  t.plural = std::move(plural);
  t.singular = std::move(singular);
  t.kind = std::move(kind);
  t.namespaced = namespaced;
  t.behavior = behavior;
  t.short_names = std::move(short_names);
  return t;
}

ResourceType custom(std::string group, std::vector<std::string> versions, std::string plural,
                    std::string singular, std::string kind, bool namespaced,
                    std::vector<std::string> short_names = {}) {
  ResourceType t;
  t.group = std::move(group);
  t.versions = std::move(versions);
  t.plural = std::move(plural);
  t.singular = std::move(singular);
  t.kind = std::move(kind);
  t.namespaced = namespaced;
  t.has_status = true;
  t.is_custom = true;
  t.short_names = std::move(short_names);
  return t;
}

// Most-preferred first, the way the API server orders versions.
std::vector<std::string> versionsOfGroup(const std::vector<ResourceType>& types,
                                         const std::string& group) {
  std::vector<std::string> out;
  for (const auto& t : types) {
    if (t.group != group) {
      continue;
    }
    for (const auto& v : t.versions) {
      if (std::find(out.begin(), out.end(), v) == out.end()) {
        out.push_back(v);
      }
    }
  }
  return out;
}

}  // namespace

bool ResourceType::servesVersion(const std::string& version) const {
  return std::find(versions.begin(), versions.end(), version) != versions.end();
}

void splitApiVersion(const std::string& api_version, std::string* group, std::string* version) {
  size_t slash = api_version.find('/');
  if (slash == std::string::npos) {
    group->clear();
    *version = api_version;
  } else {
    *group = api_version.substr(0, slash);
    *version = api_version.substr(slash + 1);
  }
}

ResourceRegistry ResourceRegistry::withDefaults() {
  ResourceRegistry r;
  r.add(builtin("", "v1", "namespaces", "namespace", "Namespace", false,
                ResourceBehavior::kNamespace, {"ns"}));
  r.add(builtin("", "v1", "secrets", "secret", "Secret", true, ResourceBehavior::kSecret));
  r.add(builtin("", "v1", "configmaps", "configmap", "ConfigMap", true, ResourceBehavior::kGeneric,
                {"cm"}));
  r.add(builtin("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true,
                ResourceBehavior::kGeneric, {"sa"}));
  r.add(builtin("", "v1", "events", "event", "Event", true, ResourceBehavior::kEvent, {"ev"}));
  r.add(builtin("", "v1", "pods", "pod", "Pod", true, ResourceBehavior::kGeneric, {"po"}));
  r.add(builtin("coordination.k8s.io", "v1", "leases", "lease", "Lease", true));
  r.add(builtin("events.k8s.io", "v1", "events", "event", "Event", true, ResourceBehavior::kEvent));
  r.add(custom("external-secrets.io", {"v1", "v1beta1"}, "externalsecrets", "externalsecret",
               "ExternalSecret", true, {"es"}));
  r.add(custom("external-secrets.io", {"v1", "v1beta1"}, "secretstores", "secretstore",
               "SecretStore", true, {"ss"}));
  r.add(custom("external-secrets.io", {"v1", "v1beta1"}, "clustersecretstores",
               "clustersecretstore", "ClusterSecretStore", false, {"css"}));
  r.add(custom("external-secrets.io", {"v1", "v1beta1"}, "clusterexternalsecrets",
               "clusterexternalsecret", "ClusterExternalSecret", false, {"ces"}));
  r.add(custom("deckhouse.io", {"v1alpha1"}, "secretsstoreimports", "secretsstoreimport",
               "SecretsStoreImport", true));
  r.add(custom("secrets-store.csi.x-k8s.io", {"v1"}, "secretproviderclasses", "secretproviderclass",
               "SecretProviderClass", true));
  r.add(custom("secrets-store.csi.x-k8s.io", {"v1"}, "secretproviderclasspodstatuses",
               "secretproviderclasspodstatus", "SecretProviderClassPodStatus", true));
  r.group_order_.push_back("authentication.k8s.io");
  return r;
}

void ResourceRegistry::add(ResourceType type) {
  if (std::find(group_order_.begin(), group_order_.end(), type.group) == group_order_.end()) {
    group_order_.push_back(type.group);
  }
  for (auto& t : types_) {
    if (t.group == type.group && t.plural == type.plural) {
      t = std::move(type);
      return;
    }
  }
  types_.push_back(std::move(type));
}

const ResourceType* ResourceRegistry::find(const std::string& group, const std::string& version,
                                           const std::string& plural) const {
  for (const auto& t : types_) {
    if (t.group == group && t.plural == plural && t.servesVersion(version)) {
      return &t;
    }
  }
  return nullptr;
}

const ResourceType* ResourceRegistry::findByKind(const std::string& api_version,
                                                 const std::string& kind) const {
  std::string group;
  std::string version;
  splitApiVersion(api_version, &group, &version);
  for (const auto& t : types_) {
    if (t.group == group && t.kind == kind && t.servesVersion(version)) {
      return &t;
    }
  }
  return nullptr;
}

nlohmann::json ResourceRegistry::coreVersions(const std::string& server_address) const {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs",
           {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

nlohmann::json ResourceRegistry::group(const std::string& name) const {
  std::vector<std::string> versions = versionsOfGroup(types_, name);
  if (name == "authentication.k8s.io") {
    versions = {"v1"};  // tokenreviews, served without storage
  }
  if (name.empty() || versions.empty()) {
    return nullptr;
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : versions) {
    list.push_back({{"groupVersion", name + "/" + v}, {"version", v}});
  }
  return {{"kind", "APIGroup"},
          {"apiVersion", "v1"},
          {"name", name},
          {"versions", list},
          {"preferredVersion", list[0]}};
}

nlohmann::json ResourceRegistry::groupList() const {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : group_order_) {
    nlohmann::json doc = group(g);
    if (doc.is_null()) {
      continue;
    }
    doc.erase("kind");
    doc.erase("apiVersion");
    groups.push_back(doc);
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

nlohmann::json ResourceRegistry::resourceList(const std::string& group,
                                              const std::string& version) const {
  nlohmann::json resources = nlohmann::json::array();
  bool any = false;
  for (const auto& t : types_) {
    if (t.group != group || !t.servesVersion(version)) {
      continue;
    }
    any = true;
    nlohmann::json verbs = {"create", "delete", "deletecollection", "get",
                            "list",   "patch",  "update",           "watch"};
    nlohmann::json entry = {{"name", t.plural},
                            {"singularName", t.singular},
                            {"namespaced", t.namespaced},
                            {"kind", t.kind},
                            {"verbs", verbs}};
    if (!t.short_names.empty()) {
      entry["shortNames"] = t.short_names;
    }
    resources.push_back(entry);
    if (t.has_status) {
      resources.push_back({{"name", t.plural + "/status"},
                           {"singularName", ""},
                           {"namespaced", t.namespaced},
                           {"kind", t.kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
    if (t.plural == "serviceaccounts") {
      resources.push_back({{"name", "serviceaccounts/token"},
                           {"singularName", ""},
                           {"namespaced", true},
                           {"group", "authentication.k8s.io"},
                           {"version", "v1"},
                           {"kind", "TokenRequest"},
                           {"verbs", {"create"}}});
    }
  }
  if (group == "authentication.k8s.io" && version == "v1") {
    any = true;
    resources.push_back({{"name", "tokenreviews"},
                         {"singularName", "tokenreview"},
                         {"namespaced", false},
                         {"kind", "TokenReview"},
                         {"verbs", {"create"}}});
  }
  if (!any) {
    return nullptr;
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version},
          {"resources", resources}};
}

}  // namespace secretsync::test::kube
