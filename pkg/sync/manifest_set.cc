#include "pkg/sync/manifest_set.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_fields.h"
#include "pkg/common/read_file.h"
#include "pkg/common/yaml_json.h"

namespace secretsync::sync {
namespace {

using common::av;
using json = nlohmann::json;

// Reads the key values of a Secret (`data` base64, `stringData` over it) or a ConfigMap (`data`
// text, `binaryData` base64) into `out`, reporting fields that are not strings or not base64.
void readKeyValues(const json& object, bool secret, ManifestKeyValues& out,
                   std::vector<std::string>& errors) {
  auto read = [&](const char* field, bool base64) {
    auto it = object.find(field);
    if (it == object.end() || it->is_null()) {
      return;
    }
    if (!it->is_object()) {
      errors.push_back(absl::StrCat(field, ": must be a map of strings"));
      return;
    }
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) {
        errors.push_back(absl::StrCat(field, "[", key, "]: must be a string"));
        continue;
      }
      std::string bytes = value.get<std::string>();
      if (base64) {
        std::string decoded;
        if (!absl::Base64Unescape(bytes, &decoded)) {
          errors.push_back(absl::StrCat(field, "[", key, "]: is not valid base64"));
          continue;
        }
        bytes = std::move(decoded);
      }
      out.values.insert_or_assign(key, common::SecretString(std::move(bytes)));
    }
  };
  if (secret) {
    read("data", true);
    read("stringData", false);
  } else {
    read("data", false);
    read("binaryData", true);
  }
}

class Loader {
 public:
  Loader(ManifestSet& set, const ManifestLoadOptions& options) : set_(set), options_(options) {}

  void loadPath(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
      problem({path, 0, -1}, "", "cannot read: no such file or directory");
      return;
    }
    if (!std::filesystem::is_directory(status)) {
      loadFile(path);
      return;
    }
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().string();
      if (entry.is_regular_file() &&
          (absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
           absl::EndsWith(name, ".json"))) {
        files.push_back(name);
      }
    }
    if (ec) {
      problem({path, 0, -1}, "", absl::StrCat("cannot list directory: ", ec.message()));
      return;
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) {
      loadFile(file);
    }
  }

 private:
  void problem(ManifestLocation location, std::string object, std::string message,
               bool error = true) {
    set_.problems.push_back({std::move(location), std::move(object), std::move(message), error});
  }

  void loadFile(const std::string& file) {
    std::optional<std::string> text = common::readFile(file);
    if (!text.has_value()) {
      problem({file, 0, -1}, "", "cannot read the file");
      return;
    }
    auto documents = common::yamlToJson(*text);
    if (!documents.ok()) {
      problem({file, 0, -1}, "", std::string(documents.status().message()));
      return;
    }
    for (size_t d = 0; d < documents->size(); ++d) {
      loadObject((*documents)[d], {file, static_cast<int>(d + 1), -1});
    }
  }

  void loadObject(const json& object, const ManifestLocation& location) {
    if (!object.is_object()) {
      problem(location, "",
              "not an object (a Kubernetes manifest is a map with apiVersion and kind)");
      return;
    }
    const std::string kind = common::jsonString(object, "kind");
    const std::string api_version = common::jsonString(object, "apiVersion");
    if (kind.empty() || api_version.empty()) {
      problem(location, "", kind.empty() ? "kind: Required value" : "apiVersion: Required value");
      return;
    }
    if (auto items = object.find("items");
        location.item < 0 && absl::EndsWith(kind, "List") && items != object.end()) {
      if (!items->is_array()) {
        problem(location, kind, "items: must be a list");
        return;
      }
      for (size_t i = 0; i < items->size(); ++i) {
        ManifestLocation item = location;
        item.item = static_cast<int>(i);
        loadObject((*items)[i], item);
      }
      return;
    }
    const bool eso = absl::StartsWith(api_version, "external-secrets.io/");
    if (eso && kind == "ExternalSecret") {
      loadExternalSecret(object, location);
    } else if (eso && (kind == "SecretStore" || kind == "ClusterSecretStore")) {
      loadStore(object, location);
    } else if (api_version == "v1" && (kind == "Secret" || kind == "ConfigMap")) {
      loadKeyValues(object, location, kind == "Secret");
    } else {
      const std::string name = common::metadataString(object, "name");
      problem(location, absl::StrCat(kind, " ", name),
              eso ? "not implemented by secretsync; ignored"
                  : "not an object secretsync reads; ignored",
              /*error=*/false);
    }
  }

  std::string defaulted(const std::string& namespace_name) const {
    return namespace_name.empty() ? options_.default_namespace : namespace_name;
  }

  // False (and an error) when kind/namespace/name was already loaded.
  bool firstOf(const std::string& kind, const std::string& namespace_name, const std::string& name,
               const ManifestLocation& location) {
    const std::string id = namespace_name.empty() ? name : namespace_name + "/" + name;
    auto [it, inserted] = seen_.emplace(kind + " " + id, location.toString());
    if (!inserted) {
      problem(location, kind + " " + id, "duplicate: already defined at " + it->second);
    }
    return inserted;
  }

  void loadExternalSecret(const json& object, const ManifestLocation& location) {
    auto parsed = api::parseExternalSecret(object);
    if (!parsed.ok()) {
      problem(location, absl::StrCat("ExternalSecret ", common::metadataString(object, "name")),
              std::string(parsed.status().message()));
      return;
    }
    ManifestObject<api::ExternalSecret> out{location, std::move(parsed->object),
                                            std::move(parsed->diagnostics)};
    out.object.metadata.namespace_name = defaulted(out.object.metadata.namespace_name);
    if (firstOf("ExternalSecret", out.object.metadata.namespace_name, out.object.metadata.name,
                location)) {
      set_.external_secrets.push_back(std::move(out));
    }
  }

  void loadStore(const json& object, const ManifestLocation& location) {
    auto parsed = api::parseSecretStore(object);
    if (!parsed.ok()) {
      problem(location,
              absl::StrCat(common::jsonString(object, "kind"), " ",
                           common::metadataString(object, "name")),
              std::string(parsed.status().message()));
      return;
    }
    ManifestObject<api::SecretStore> out{location, std::move(parsed->object),
                                         std::move(parsed->diagnostics)};
    if (out.object.kind == api::StoreKind::kSecretStore) {
      out.object.metadata.namespace_name = defaulted(out.object.metadata.namespace_name);
    }
    if (firstOf(std::string(api::storeKindName(out.object.kind)),
                out.object.metadata.namespace_name, out.object.metadata.name, location)) {
      set_.stores.push_back(std::move(out));
    }
  }

  void loadKeyValues(const json& object, const ManifestLocation& location, bool secret) {
    const std::string kind = secret ? "Secret" : "ConfigMap";
    const std::string name = common::metadataString(object, "name");
    const std::string namespace_name = defaulted(common::metadataString(object, "namespace"));
    if (name.empty()) {
      problem(location, kind, "metadata.name: Required value");
      return;
    }
    ManifestKeyValues values;
    values.location = location;
    std::vector<std::string> errors;
    readKeyValues(object, secret, values, errors);
    for (std::string& error : errors) {
      problem(location, absl::StrCat(kind, " ", namespace_name, "/", name), std::move(error));
    }
    if (!firstOf(kind, namespace_name, name, location)) {
      return;
    }
    auto& map = secret ? set_.secrets : set_.config_maps;
    map.emplace(std::make_tuple(namespace_name, name), std::move(values));
  }

  ManifestSet& set_;
  const ManifestLoadOptions& options_;
  // "<kind> <namespace>/<name>" -> where it was first seen.
  std::map<std::string, std::string> seen_;
};

}  // namespace

std::string ManifestLocation::toString() const {
  if (document <= 0) {
    return file;
  }
  std::string out = absl::StrCat(file, ":", document);
  if (item >= 0) {
    absl::StrAppend(&out, ":items[", item, "]");
  }
  return out;
}

const ManifestObject<api::SecretStore>* ManifestSet::findStore(
    const api::StoreRef& ref, std::string_view es_namespace) const {
  for (const auto& store : stores) {
    if (store.object.kind != ref.kind || store.object.metadata.name != ref.name) {
      continue;
    }
    if (ref.kind == api::StoreKind::kClusterSecretStore ||
        store.object.metadata.namespace_name == es_namespace) {
      return &store;
    }
  }
  return nullptr;
}

bool ManifestSet::hasErrors() const {
  return std::any_of(problems.begin(), problems.end(),
                     [](const ManifestProblem& p) { return p.error; });
}

ManifestSet loadManifests(const std::vector<std::string>& paths,
                          const ManifestLoadOptions& options) {
  ManifestSet set;
  Loader loader(set, options);
  for (const std::string& path : paths) {
    loader.loadPath(path);
  }
  return set;
}

namespace {

// The value of `ref` in `map` (Secrets or ConfigMaps of the manifests), or kNotFound naming it.
absl::StatusOr<common::SecretString> lookup(
    const std::map<std::tuple<std::string, std::string>, ManifestKeyValues>& map,
    std::string_view kind, const api::ObjectKeyRef& ref) {
  const std::string name = absl::StrCat(av(kind), " \"", ref.namespace_name, "/", ref.name, "\"");
  auto it = map.find(std::make_tuple(ref.namespace_name, ref.name));
  if (it == map.end()) {
    return absl::NotFoundError(absl::StrCat(name, " is not in the given files"));
  }
  auto value = it->second.values.find(ref.key);
  if (value == it->second.values.end()) {
    return absl::NotFoundError(
        absl::StrCat(name, " (", it->second.location.toString(), ") has no key \"", ref.key, "\""));
  }
  return value->second;
}

}  // namespace

absl::StatusOr<common::SecretString> ManifestCredentials::secretValue(
    const api::ObjectKeyRef& ref) {
  return lookup(manifests_.secrets, "Secret", ref);
}

absl::StatusOr<std::string> ManifestCredentials::configMapValue(const api::ObjectKeyRef& ref) {
  auto value = lookup(manifests_.config_maps, "ConfigMap", ref);
  if (!value.ok()) {
    return value.status();
  }
  return value->reveal();
}

absl::StatusOr<common::SecretString> ManifestCredentials::requestToken(
    const api::TokenRequestSpec& spec) {
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot request a token for service account \"", spec.namespace_name, "/",
      spec.service_account,
      "\" without a cluster: use kubernetes auth without serviceAccountRef and "
      "--service-account-token-file, or a secretRef with the JWT in a Secret manifest"));
}

absl::StatusOr<ResolvedStore> ManifestStoreSource::storeFor(const api::StoreRef& ref,
                                                            std::string_view es_namespace) {
  const ManifestObject<api::SecretStore>* store = manifests_.findStore(ref, es_namespace);
  const std::string name =
      ref.kind == api::StoreKind::kClusterSecretStore
          ? absl::StrCat("ClusterSecretStore \"", ref.name, "\"")
          : absl::StrCat("SecretStore \"", av(es_namespace), "/", ref.name, "\"");
  if (store == nullptr) {
    return absl::NotFoundError(absl::StrCat(name, " is not in the given files"));
  }
  if (!store->diagnostics.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " (", store->location.toString(), ") cannot be used: ",
        store->diagnostics.toStatus(api::storeKindName(ref.kind), ref.name).message()));
  }
  return resolver_.resolve(store->object, es_namespace);
}

}  // namespace secretsync::sync

namespace secretsync::sync {

std::map<size_t, size_t> duplicateTargets(const ManifestSet& set) {
  std::map<std::tuple<std::string, std::string>, size_t> first;
  std::map<size_t, size_t> out;
  for (size_t i = 0; i < set.external_secrets.size(); ++i) {
    const api::ExternalSecret& es = set.external_secrets[i].object;
    const std::string target = es.spec.target.name.empty() ? es.metadata.name : es.spec.target.name;
    auto [it, inserted] = first.emplace(std::make_tuple(es.metadata.namespace_name, target), i);
    if (!inserted) {
      out.emplace(i, it->second);
    }
  }
  return out;
}

std::string ValidationFinding::toString() const {
  return absl::StrCat(location.toString(), ": ", object.empty() ? "" : object + ": ", message,
                      severity == Severity::kWarning ? " (warning)" : "");
}

namespace {

void addDiagnostics(const api::Diagnostics& diag, const ManifestLocation& location,
                    const std::string& object, std::vector<ValidationFinding>& out) {
  using Severity = ValidationFinding::Severity;
  for (const auto& e : diag.errors) {
    out.push_back({Severity::kError, location, object, e.toString()});
  }
  for (const auto& e : diag.unsupported) {
    out.push_back({Severity::kError, location, object, e.toString()});
  }
  for (const auto& e : diag.warnings) {
    out.push_back({Severity::kWarning, location, object, e.toString()});
  }
}

// Every store reference of `es` with the field that makes it.
std::vector<std::pair<std::string, api::StoreRef>> storeRefs(const api::ExternalSecret& es) {
  std::vector<std::pair<std::string, api::StoreRef>> refs;
  bool needs_default = false;
  for (size_t i = 0; i < es.spec.data.size(); ++i) {
    if (es.spec.data[i].store_ref.has_value()) {
      refs.emplace_back(absl::StrCat("spec.data[", i, "].sourceRef.storeRef"),
                        *es.spec.data[i].store_ref);
    } else {
      needs_default = true;
    }
  }
  for (size_t j = 0; j < es.spec.data_from.size(); ++j) {
    if (es.spec.data_from[j].store_ref.has_value()) {
      refs.emplace_back(absl::StrCat("spec.dataFrom[", j, "].sourceRef.storeRef"),
                        *es.spec.data_from[j].store_ref);
    } else {
      needs_default = true;
    }
  }
  if (es.spec.secret_store_ref.has_value() && (needs_default || refs.empty())) {
    refs.insert(refs.begin(), {"spec.secretStoreRef", *es.spec.secret_store_ref});
  }
  return refs;
}

}  // namespace

std::vector<ValidationFinding> validateManifests(const ManifestSet& set) {
  using Severity = ValidationFinding::Severity;
  std::vector<ValidationFinding> out;
  for (const ManifestProblem& p : set.problems) {
    out.push_back(
        {p.error ? Severity::kError : Severity::kWarning, p.location, p.object, p.message});
  }
  for (const auto& store : set.stores) {
    const std::string object = absl::StrCat(av(api::storeKindName(store.object.kind)), " ",
                                            store.object.metadata.namespace_name.empty()
                                                ? ""
                                                : store.object.metadata.namespace_name + "/",
                                            store.object.metadata.name);
    addDiagnostics(store.diagnostics, store.location, object, out);
  }
  const std::map<size_t, size_t> duplicates = duplicateTargets(set);
  for (size_t i = 0; i < set.external_secrets.size(); ++i) {
    const auto& es = set.external_secrets[i];
    const std::string& ns = es.object.metadata.namespace_name;
    const std::string object = absl::StrCat("ExternalSecret ", ns, "/", es.object.metadata.name);
    addDiagnostics(es.diagnostics, es.location, object, out);
    // The parser keeps find.tags (ESO's schema has it); the builder refuses it at sync time.
    for (size_t j = 0; j < es.object.spec.data_from.size(); ++j) {
      const auto& find = es.object.spec.data_from[j].find;
      if (find.has_value() && !find->tags.empty()) {
        out.push_back({Severity::kError, es.location, object,
                       api::FieldError{api::FieldError::Type::kUnsupportedField,
                                       absl::StrCat("spec.dataFrom[", j, "].find.tags"), "",
                                       "find by tags; use name.regexp"}
                           .toString()});
      }
    }
    for (const auto& [field, ref] : storeRefs(es.object)) {
      const auto* store = set.findStore(ref, ns);
      const std::string name = ref.kind == api::StoreKind::kClusterSecretStore
                                   ? absl::StrCat("ClusterSecretStore \"", ref.name, "\"")
                                   : absl::StrCat("SecretStore \"", ns, "/", ref.name, "\"");
      if (store == nullptr) {
        out.push_back({Severity::kWarning, es.location, object,
                       absl::StrCat(field, ": ", name, " is not in the given files")});
        continue;
      }
      if (!store->diagnostics.ok()) {
        continue;  // reported on the store itself
      }
      if (store->object.kind == api::StoreKind::kClusterSecretStore &&
          !api::namespaceAllowed(store->object, ns, {})) {
        out.push_back({Severity::kError, es.location, object,
                       absl::StrCat(field, ": ", name, " (", store->location.toString(),
                                    ") does not allow namespace \"", ns, "\"")});
        continue;
      }
      if (auto compiled = api::compileVaultStore(store->object, ns); !compiled.ok()) {
        out.push_back({Severity::kError, es.location, object,
                       absl::StrCat(field, ": ", compiled.status().message())});
      }
    }
    if (auto it = duplicates.find(i); it != duplicates.end()) {
      const auto& first = set.external_secrets[it->second];
      out.push_back(
          {Severity::kError, es.location, object,
           absl::StrCat("spec.target.name: Secret \"", ns, "/", es.object.spec.target.name,
                        "\" is also the target of "
                        "ExternalSecret ",
                        first.object.metadata.namespace_name, "/", first.object.metadata.name, " (",
                        first.location.toString(), ")")});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.location.file, a.location.document, a.location.item) <
           std::tie(b.location.file, b.location.document, b.location.item);
  });
  return out;
}

}  // namespace secretsync::sync
