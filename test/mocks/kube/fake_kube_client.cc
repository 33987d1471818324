#include "test/mocks/kube/fake_kube_client.h"

#include <algorithm>
#include <array>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "pkg/common/absl_view.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/api_time.h"

namespace secretsync::test {
namespace {

using common::av;
using nlohmann::json;

constexpr size_t kHistoryLimit = 10000;
constexpr std::string_view kDefaultFieldManager = "secretsync";

std::string storageKey(const kube::Resource& resource) {
  return absl::StrCat(resource.group, "/", resource.plural);
}

// "secrets" or "externalsecrets.external-secrets.io", as the API server names a resource in
// messages (kubernetes-api.md §0.4).
std::string qualified(const kube::Resource& resource) {
  return resource.group.empty() ? resource.plural
                                : absl::StrCat(resource.plural, ".", resource.group);
}

absl::Status error(int http_status, std::string_view reason, std::string_view message) {
  return kube::apiError({.http_status = http_status, .reason = std::string(reason)}, message);
}

absl::Status notFound(const kube::Resource& resource, std::string_view name) {
  return error(404, "NotFound", absl::StrCat(qualified(resource), " \"", av(name), "\" not found"));
}

absl::Status conflict(const kube::Resource& resource, std::string_view name) {
  return error(
      409, "Conflict",
      absl::StrCat("Operation cannot be fulfilled on ", qualified(resource), " \"", av(name),
                   "\": the object has been modified; please apply your changes to the "
                   "latest version and try again"));
}

absl::Status invalid(const kube::Resource& resource, std::string_view name,
                     std::string_view detail) {
  return error(422, "Invalid",
               absl::StrCat(resource.kind, " \"", av(name), "\" is invalid: ", av(detail)));
}

std::string stringAt(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer)) return "";
  const json& value = object.at(pointer);
  return value.is_string() ? value.get<std::string>() : "";
}

std::string metaString(const json& object, std::string_view field) {
  return stringAt(object, json::json_pointer(absl::StrCat("/metadata/", av(field))));
}

// The object without what the server sets on every write, to tell a real change from a no-op.
json comparable(json object) {
  if (object.contains("metadata") && object["metadata"].is_object()) {
    object["metadata"].erase("resourceVersion");
    object["metadata"].erase("managedFields");
  }
  return object;
}

// Everything outside metadata and status: what bumps a custom resource's generation.
json specPart(json object) {
  if (object.is_object()) {
    for (const char* field : {"metadata", "status", "apiVersion", "kind"}) object.erase(field);
  }
  return object;
}

// JSON pointers of every leaf (a scalar, an array or an empty object) under `value`.
void collectLeaves(const json& value, const json::json_pointer& at, std::set<std::string>& out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, child] : value.items()) collectLeaves(child, at / key, out);
  } else {
    out.insert(at.to_string());
  }
}

// One term of a label selector; set-based terms ("in", "notin") are not emulated.
struct LabelTerm {
  std::string key;
  enum class Op { kEquals, kNotEquals, kExists, kNotExists } op = Op::kExists;
  std::string value;
};

absl::StatusOr<std::vector<LabelTerm>> parseLabelSelector(std::string_view selector) {
  std::vector<LabelTerm> terms;
  for (absl::string_view raw : absl::StrSplit(av(selector), ',', absl::SkipWhitespace())) {
    absl::string_view text = absl::StripAsciiWhitespace(raw);
    LabelTerm term;
    if (absl::StrContains(text, " in ") || absl::StrContains(text, " notin ")) {
      return error(400, "BadRequest", "the fake supports only equality label selectors");
    }
    if (const size_t at = text.find("!="); at != absl::string_view::npos) {
      term = {std::string(text.substr(0, at)), LabelTerm::Op::kNotEquals,
              std::string(text.substr(at + 2))};
    } else if (const size_t eq = text.find('='); eq != absl::string_view::npos) {
      const size_t value_at = text.substr(eq, 2) == "==" ? eq + 2 : eq + 1;
      term = {std::string(text.substr(0, eq)), LabelTerm::Op::kEquals,
              std::string(text.substr(value_at))};
    } else if (absl::ConsumePrefix(&text, "!")) {
      term = {std::string(text), LabelTerm::Op::kNotExists, ""};
    } else {
      term = {std::string(text), LabelTerm::Op::kExists, ""};
    }
    terms.push_back(std::move(term));
  }
  return terms;
}

bool labelsMatch(const json& object, const std::vector<LabelTerm>& terms) {
  const json labels = object.contains("metadata") && object["metadata"].is_object()
                          ? object["metadata"].value("labels", json::object())
                          : json::object();
  for (const LabelTerm& term : terms) {
    const auto it = labels.find(term.key);
    const bool has = it != labels.end() && it->is_string();
    const std::string value = has ? it->get<std::string>() : "";
    switch (term.op) {
      case LabelTerm::Op::kEquals:
        if (!has || value != term.value) return false;
        break;
      case LabelTerm::Op::kNotEquals:
        if (has && value == term.value) return false;
        break;
      case LabelTerm::Op::kExists:
        if (!has) return false;
        break;
      case LabelTerm::Op::kNotExists:
        if (has) return false;
        break;
    }
  }
  return true;
}

// Field selectors metadata.name and metadata.namespace with =, == and !=.
absl::StatusOr<std::vector<LabelTerm>> parseFieldSelector(std::string_view selector) {
  std::vector<LabelTerm> terms;
  for (absl::string_view raw : absl::StrSplit(av(selector), ',', absl::SkipWhitespace())) {
    const std::string text(absl::StripAsciiWhitespace(raw));
    const bool negated = absl::StrContains(text, "!=");
    const size_t op = text.find(negated ? "!=" : "=");
    if (op == std::string::npos) return error(400, "BadRequest", "invalid field selector");
    LabelTerm term{text.substr(0, op), negated ? LabelTerm::Op::kNotEquals : LabelTerm::Op::kEquals,
                   text.substr(op + (negated || text.compare(op, 2, "==") == 0 ? 2 : 1))};
    if (term.key != "metadata.name" && term.key != "metadata.namespace") {
      return error(400, "BadRequest", absl::StrCat("field label not supported: ", term.key));
    }
    terms.push_back(std::move(term));
  }
  return terms;
}

bool fieldsMatch(const json& object, const std::vector<LabelTerm>& terms) {
  for (const LabelTerm& term : terms) {
    const std::string value = metaString(object, term.key.substr(sizeof("metadata.") - 1));
    if ((value == term.value) != (term.op == LabelTerm::Op::kEquals)) return false;
  }
  return true;
}

// Both selectors of a list or watch.
struct Filter {
  std::vector<LabelTerm> labels;
  std::vector<LabelTerm> fields;
  bool matches(const json& object) const {
    return labelsMatch(object, labels) && fieldsMatch(object, fields);
  }
};

absl::StatusOr<Filter> parseFilter(std::string_view label_selector,
                                   std::string_view field_selector) {
  Filter filter;
  auto labels = parseLabelSelector(label_selector);
  if (!labels.ok()) return labels.status();
  auto fields = parseFieldSelector(field_selector);
  if (!fields.ok()) return fields.status();
  filter.labels = std::move(*labels);
  filter.fields = std::move(*fields);
  return filter;
}

}  // namespace

FakeKubeClient::FakeKubeClient(common::Clock& clock) : clock_(clock) {}

FakeKubeClient::~FakeKubeClient() {
  std::unique_lock lock(mu_);
  closing_ = true;
  changed_.notify_all();
  changed_.wait(lock, [this] { return open_watches_ == 0; });
}

bool FakeKubeClient::isCustomResource(const kube::Resource& resource) {
  static constexpr std::array<std::string_view, 4> kBuiltIn = {"apps", "batch", "policy",
                                                               "autoscaling"};
  const std::string& group = resource.group;
  return !group.empty() && group != "k8s.io" && !absl::EndsWith(group, ".k8s.io") &&
         std::find(kBuiltIn.begin(), kBuiltIn.end(), group) == kBuiltIn.end();
}

absl::Status FakeKubeClient::enterLocked(KubeVerb verb, const kube::Resource& resource) {
  ++calls_[verb];
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->verb != verb || (it->resource && storageKey(*it->resource) != storageKey(resource))) {
      continue;
    }
    absl::Status status = it->status;
    if (--it->remaining <= 0) faults_.erase(it);
    return status;
  }
  return absl::OkStatus();
}

FakeKubeClient::Stored* FakeKubeClient::findLocked(const kube::Resource& resource,
                                                   std::string_view ns, std::string_view name) {
  auto collection = objects_.find(storageKey(resource));
  if (collection == objects_.end()) return nullptr;
  auto it = collection->second.find(
      Key(resource.namespaced ? std::string(ns) : std::string(), std::string(name)));
  return it == collection->second.end() ? nullptr : &it->second;
}

json FakeKubeClient::present(const kube::Resource& resource, json object) const {
  object["apiVersion"] = resource.apiVersion();
  object["kind"] = resource.kind;
  return object;
}

void FakeKubeClient::recordLocked(const std::string& storage_key, kube::WatchEvent::Type type,
                                  const json& object) {
  history_.push_back(Change{rv_, storage_key, kube::WatchEvent{type, object}});
  while (history_.size() > kHistoryLimit) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
  changed_.notify_all();
}

void FakeKubeClient::logWriteLocked(KubeVerb verb, const kube::Resource& resource,
                                    const kube::WriteOptions& options, const std::string& ns,
                                    const std::string& name, const json& body,
                                    std::optional<kube::PatchType> patch_type, bool changed,
                                    const std::string& rv) {
  FakeKubeWrite write;
  write.verb = verb;
  write.resource = options.subresource.empty()
                       ? resource.plural
                       : absl::StrCat(resource.plural, "/", options.subresource);
  write.namespace_name = ns;
  write.name = name;
  write.field_manager =
      options.field_manager.empty() ? std::string(kDefaultFieldManager) : options.field_manager;
  write.patch_type = patch_type;
  write.body = body;
  write.changed = changed;
  write.resource_version = rv;
  writes_.push_back(std::move(write));
}

absl::StatusOr<json> FakeKubeClient::get(const kube::Resource& resource,
                                         std::string_view namespace_name, std::string_view name) {
  runHook(KubeVerb::kGet);
  std::lock_guard lock(mu_);
  if (absl::Status fault = enterLocked(KubeVerb::kGet, resource); !fault.ok()) return fault;
  const Stored* stored = findLocked(resource, namespace_name, name);
  if (stored == nullptr) return notFound(resource, name);
  return present(resource, stored->object);
}

absl::StatusOr<kube::ObjectList> FakeKubeClient::list(const kube::Resource& resource,
                                                      std::string_view namespace_name,
                                                      const kube::ListOptions& options) {
  runHook(KubeVerb::kList);
  std::lock_guard lock(mu_);
  if (absl::Status fault = enterLocked(KubeVerb::kList, resource); !fault.ok()) return fault;
  absl::StatusOr<Filter> filter = parseFilter(options.label_selector, options.field_selector);
  if (!filter.ok()) return filter.status();
  size_t offset = 0;
  if (!options.continue_token.empty() && !absl::SimpleAtoi(av(options.continue_token), &offset)) {
    return error(400, "BadRequest", "invalid continue token");
  }
  kube::ObjectList out;
  out.resource_version = std::to_string(rv_);
  std::vector<const json*> matching;
  if (auto collection = objects_.find(storageKey(resource)); collection != objects_.end()) {
    for (const auto& [key, stored] : collection->second) {
      if (!namespace_name.empty() && key.first != namespace_name) continue;
      if (filter->matches(stored.object)) matching.push_back(&stored.object);
    }
  }
  const size_t end = options.limit > 0
                         ? std::min(matching.size(), offset + static_cast<size_t>(options.limit))
                         : matching.size();
  for (size_t i = offset; i < end; ++i) out.items.push_back(present(resource, *matching[i]));
  if (end < matching.size()) out.continue_token = std::to_string(end);
  return out;
}

absl::StatusOr<json> FakeKubeClient::createLocked(const kube::Resource& resource,
                                                  std::string_view namespace_name, json object,
                                                  const kube::WriteOptions& options, KubeVerb verb,
                                                  const json& body) {
  if (!object.is_object()) return error(400, "BadRequest", "the body is not a JSON object");
  if (!object["metadata"].is_object()) object["metadata"] = json::object();
  json& metadata = object["metadata"];
  std::string name = metaString(object, "name");
  const std::string generate_name = metaString(object, "generateName");
  if (name.empty() && !generate_name.empty()) {
    name = absl::StrCat(generate_name, "x", ++uid_counter_);
  }
  if (name.empty())
    return invalid(resource, "", "metadata.name: Required value: name or generateName is required");
  const std::string ns = resource.namespaced ? std::string(namespace_name) : std::string();
  const std::string object_ns = metaString(object, "namespace");
  if (!object_ns.empty() && object_ns != ns) {
    return error(400, "BadRequest",
                 "the namespace of the provided object does not match the namespace sent on the "
                 "request");
  }
  if (resource.namespaced && ns.empty()) {
    return error(400, "BadRequest", "a namespaced object needs a namespace");
  }
  if (findLocked(resource, ns, name) != nullptr) {
    return error(409, "AlreadyExists",
                 absl::StrCat(qualified(resource), " \"", name, "\" already exists"));
  }
  metadata["name"] = name;
  if (resource.namespaced) metadata["namespace"] = ns;
  metadata["uid"] = absl::StrCat("fake-uid-", ++uid_counter_);
  metadata["creationTimestamp"] = kube::formatTime(clock_.now());
  metadata.erase("deletionTimestamp");
  if (isCustomResource(resource)) {
    metadata["generation"] = 1;
    object.erase("status");
  }
  metadata["resourceVersion"] = nextRvLocked();
  object = present(resource, std::move(object));
  objects_[storageKey(resource)][Key(ns, name)] = Stored{object, {}};
  recordLocked(storageKey(resource), kube::WatchEvent::Type::kAdded, object);
  logWriteLocked(verb, resource, options, ns, name, body, std::nullopt, true,
                 metaString(object, "resourceVersion"));
  return object;
}

absl::StatusOr<json> FakeKubeClient::create(const kube::Resource& resource,
                                            std::string_view namespace_name, const json& object,
                                            const kube::WriteOptions& options) {
  runHook(KubeVerb::kCreate);
  std::lock_guard lock(mu_);
  if (absl::Status fault = enterLocked(KubeVerb::kCreate, resource); !fault.ok()) return fault;
  if (!options.subresource.empty())
    return error(405, "MethodNotAllowed", "create of a subresource");
  return createLocked(resource, namespace_name, object, options, KubeVerb::kCreate, object);
}

absl::StatusOr<json> FakeKubeClient::commitLocked(const kube::Resource& resource,
                                                  const std::string& ns, const std::string& name,
                                                  Stored& stored, json candidate,
                                                  const kube::WriteOptions& options, KubeVerb verb,
                                                  const json& body,
                                                  std::optional<kube::PatchType> patch_type) {
  const json& old = stored.object;
  const bool custom = isCustomResource(resource);
  if (!candidate.is_object()) return error(400, "BadRequest", "the body is not a JSON object");
  if (options.subresource == "status") {
    if (!custom) return notFound(resource, absl::StrCat(name, "/status"));
    // The status subresource takes only .status; everything else stays as stored.
    json status = candidate.contains("status") ? candidate["status"] : json();
    candidate = old;
    if (status.is_null()) {
      candidate.erase("status");
    } else {
      candidate["status"] = std::move(status);
    }
  } else if (!options.subresource.empty()) {
    return notFound(resource, absl::StrCat(name, "/", options.subresource));
  } else if (custom) {
    // The main resource ignores status changes.
    if (old.contains("status")) {
      candidate["status"] = old["status"];
    } else {
      candidate.erase("status");
    }
  }
  candidate = present(resource, std::move(candidate));
  if (!candidate["metadata"].is_object()) candidate["metadata"] = json::object();
  json& metadata = candidate["metadata"];
  // What only the server sets.
  for (const char* field :
       {"name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp"}) {
    if (old["metadata"].contains(field)) {
      metadata[field] = old["metadata"][field];
    } else {
      metadata.erase(field);
    }
  }
  if (comparable(candidate) == comparable(old)) {
    // The API server does not persist a write that changes nothing: same resourceVersion.
    logWriteLocked(verb, resource, options, ns, name, body, patch_type, false,
                   metaString(old, "resourceVersion"));
    return present(resource, old);
  }
  if (custom && specPart(candidate) != specPart(old)) {
    metadata["generation"] = old["metadata"].value("generation", int64_t{0}) + 1;
  }
  metadata["resourceVersion"] = nextRvLocked();
  const std::string key = storageKey(resource);
  const bool finalized = old["metadata"].contains("deletionTimestamp") &&
                         metadata.value("finalizers", json::array()).empty();
  logWriteLocked(verb, resource, options, ns, name, body, patch_type, true,
                 metadata["resourceVersion"].get<std::string>());
  if (finalized) {
    recordLocked(key, kube::WatchEvent::Type::kDeleted, candidate);
    objects_[key].erase(Key(ns, name));
    return candidate;
  }
  stored.object = candidate;
  recordLocked(key, kube::WatchEvent::Type::kModified, candidate);
  return candidate;
}

absl::StatusOr<json> FakeKubeClient::update(const kube::Resource& resource,
                                            std::string_view namespace_name, const json& object,
                                            const kube::WriteOptions& options) {
  runHook(KubeVerb::kUpdate);
  std::lock_guard lock(mu_);
  if (absl::Status fault = enterLocked(KubeVerb::kUpdate, resource); !fault.ok()) return fault;
  if (!object.is_object()) return error(400, "BadRequest", "the body is not a JSON object");
  const std::string name = metaString(object, "name");
  const std::string ns = resource.namespaced ? std::string(namespace_name) : std::string();
  Stored* stored = findLocked(resource, ns, name);
  if (stored == nullptr) return notFound(resource, name);
  const std::string rv = metaString(object, "resourceVersion");
  if (rv.empty() && (isCustomResource(resource) || !options.subresource.empty())) {
    return invalid(resource, name,
                   "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
  }
  if (!rv.empty() && rv != metaString(stored->object, "resourceVersion")) {
    return conflict(resource, name);
  }
  return commitLocked(resource, ns, name, *stored, object, options, KubeVerb::kUpdate, object,
                      std::nullopt);
}

absl::StatusOr<json> FakeKubeClient::patch(const kube::Resource& resource,
                                           std::string_view namespace_name, std::string_view name,
                                           kube::PatchType type, const json& patch,
                                           const kube::WriteOptions& options) {
  runHook(KubeVerb::kPatch);
  std::lock_guard lock(mu_);
  if (absl::Status fault = enterLocked(KubeVerb::kPatch, resource); !fault.ok()) return fault;
  const std::string ns = resource.namespaced ? std::string(namespace_name) : std::string();
  Stored* stored = findLocked(resource, ns, name);
  if (stored == nullptr) return notFound(resource, name);
  json candidate = stored->object;
  if (type == kube::PatchType::kJson) {
    if (!patch.is_array()) return error(400, "BadRequest", "a JSON patch must be an array");
    try {
      candidate = candidate.patch(patch);
    } catch (const json::exception&) {
      // A failed "test" or a missing path; the message leaves the values out.
      return invalid(resource, name, "the JSON patch could not be applied");
    }
  } else {
    if (type == kube::PatchType::kStrategicMerge && isCustomResource(resource)) {
      return error(415, "UnsupportedMediaType",
                   "the body of the request was in an unknown format - accepted media types "
                   "include: application/json-patch+json, application/merge-patch+json, "
                   "application/apply-patch+yaml");
    }
    if (!patch.is_object()) return error(400, "BadRequest", "a merge patch must be an object");
    const std::string rv = stringAt(patch, json::json_pointer("/metadata/resourceVersion"));
    if (!rv.empty() && rv != metaString(stored->object, "resourceVersion")) {
      return conflict(resource, name);
    }
    candidate.merge_patch(patch);
  }
  return commitLocked(resource, ns, std::string(name), *stored, std::move(candidate), options,
                      KubeVerb::kPatch, patch, type);
}

absl::StatusOr<json> FakeKubeClient::apply(const kube::Resource& resource,
                                           std::string_view namespace_name, const json& object,
                                           const kube::WriteOptions& options) {
  runHook(KubeVerb::kApply);
  std::lock_guard lock(mu_);
  if (absl::Status fault = enterLocked(KubeVerb::kApply, resource); !fault.ok()) return fault;
  if (!object.is_object()) return error(400, "BadRequest", "the body is not a JSON object");
  const std::string name = metaString(object, "name");
  if (name.empty()) return invalid(resource, "", "metadata.name: Required value");
  const std::string ns = resource.namespaced ? std::string(namespace_name) : std::string();
  const std::string manager =
      options.field_manager.empty() ? std::string(kDefaultFieldManager) : options.field_manager;
  // The leaves this apply owns: with "status" only the status part counts.
  json owned = object;
  for (const char* field : {"apiVersion", "kind"}) owned.erase(field);
  if (owned.contains("metadata") && owned["metadata"].is_object()) {
    for (const char* field : {"name", "namespace", "resourceVersion", "uid"}) {
      owned["metadata"].erase(field);
    }
    if (owned["metadata"].empty()) owned.erase("metadata");
  }
  if (options.subresource == "status") owned = json{{"status", object.value("status", json())}};
  std::set<std::string> leaves;
  collectLeaves(owned, json::json_pointer(), leaves);

  Stored* stored = findLocked(resource, ns, name);
  absl::StatusOr<json> result;
  if (stored == nullptr) {
    if (!options.subresource.empty()) return notFound(resource, name);
    result = createLocked(resource, ns, object, options, KubeVerb::kApply, object);
  } else {
    const std::string rv = metaString(object, "resourceVersion");
    if (!rv.empty() && rv != metaString(stored->object, "resourceVersion")) {
      return conflict(resource, name);
    }
    json candidate = stored->object;
    // Fields this manager applied before and leaves out now are removed.
    for (const std::string& leaf : stored->applied[manager]) {
      if (leaves.count(leaf) != 0) continue;
      const json::json_pointer pointer(leaf);
      if (pointer.empty() || !candidate.contains(pointer)) continue;
      json& parent = candidate[pointer.parent_pointer()];
      if (parent.is_object()) parent.erase(pointer.back());
    }
    candidate.merge_patch(owned);
    result = commitLocked(resource, ns, name, *stored, std::move(candidate), options,
                          KubeVerb::kApply, object, std::nullopt);
  }
  if (result.ok()) {
    if (Stored* now = findLocked(resource, ns, name); now != nullptr)
      now->applied[manager] = leaves;
  }
  return result;
}

absl::Status FakeKubeClient::remove(const kube::Resource& resource, std::string_view namespace_name,
                                    std::string_view name, const kube::DeleteOptions& options) {
  runHook(KubeVerb::kRemove);
  std::lock_guard lock(mu_);
  if (absl::Status fault = enterLocked(KubeVerb::kRemove, resource); !fault.ok()) return fault;
  const std::string ns = resource.namespaced ? std::string(namespace_name) : std::string();
  Stored* stored = findLocked(resource, ns, name);
  if (stored == nullptr) return notFound(resource, name);
  json& object = stored->object;
  if ((!options.uid.empty() && options.uid != metaString(object, "uid")) ||
      (!options.resource_version.empty() &&
       options.resource_version != metaString(object, "resourceVersion"))) {
    return conflict(resource, name);
  }
  const std::string key = storageKey(resource);
  const json finalizers = object["metadata"].value("finalizers", json::array());
  if (!finalizers.empty()) {
    // Finalizers keep the object; whoever removes the last one deletes it (commitLocked).
    if (!object["metadata"].contains("deletionTimestamp")) {
      object["metadata"]["deletionTimestamp"] = kube::formatTime(clock_.now());
      object["metadata"]["resourceVersion"] = nextRvLocked();
      recordLocked(key, kube::WatchEvent::Type::kModified, object);
    }
    logWriteLocked(KubeVerb::kRemove, resource, {}, ns, std::string(name), json(), std::nullopt,
                   true, metaString(object, "resourceVersion"));
    return absl::OkStatus();
  }
  json last = object;
  last["metadata"]["resourceVersion"] = nextRvLocked();
  objects_[key].erase(Key(ns, std::string(name)));
  recordLocked(key, kube::WatchEvent::Type::kDeleted, last);
  logWriteLocked(KubeVerb::kRemove, resource, {}, ns, std::string(name), json(), std::nullopt, true,
                 metaString(last, "resourceVersion"));
  return absl::OkStatus();
}

absl::Status FakeKubeClient::watch(const kube::Resource& resource, std::string_view namespace_name,
                                   const kube::WatchOptions& options,
                                   const kube::WatchHandler& handler) {
  runHook(KubeVerb::kWatch);
  std::unique_lock lock(mu_);
  if (absl::Status fault = enterLocked(KubeVerb::kWatch, resource); !fault.ok()) return fault;
  absl::StatusOr<Filter> filter = parseFilter(options.label_selector, options.field_selector);
  if (!filter.ok()) return filter.status();
  const std::string key = storageKey(resource);
  const std::string ns = resource.namespaced ? std::string(namespace_name) : std::string();
  const auto wanted = [&](const json& object) {
    return (ns.empty() || metaString(object, "namespace") == ns) && filter->matches(object);
  };
  std::vector<kube::WatchEvent> pending;
  uint64_t from = rv_;
  if (options.resource_version.empty() || options.resource_version == "0") {
    // No starting point: the current state as synthetic ADDED events, then changes.
    if (auto collection = objects_.find(key); collection != objects_.end()) {
      for (const auto& [object_key, stored] : collection->second) {
        if (wanted(stored.object)) {
          pending.push_back({kube::WatchEvent::Type::kAdded, present(resource, stored.object)});
        }
      }
    }
  } else if (!absl::SimpleAtoi(av(options.resource_version), &from)) {
    return error(400, "BadRequest", "invalid resourceVersion");
  }
  const auto deadline = options.timeout.count() > 0
                            ? std::chrono::steady_clock::now() + options.timeout
                            : std::chrono::steady_clock::time_point::max();
  const uint64_t epoch = watch_epoch_;
  uint64_t bookmarks = bookmark_epoch_;
  ++open_watches_;
  absl::Status result = absl::OkStatus();
  while (true) {
    if (from < compacted_rv_) {
      const std::string message =
          absl::StrCat("too old resource version: ", from, " (", compacted_rv_, ")");
      pending.push_back({kube::WatchEvent::Type::kError, json{{"kind", "Status"},
                                                              {"apiVersion", "v1"},
                                                              {"metadata", json::object()},
                                                              {"status", "Failure"},
                                                              {"message", message},
                                                              {"reason", "Expired"},
                                                              {"code", 410}}});
      result = error(410, "Expired", message);
    } else {
      for (const Change& change : history_) {
        if (change.rv <= from || change.storage_key != key) continue;
        from = change.rv;
        if (wanted(change.event.object)) {
          pending.push_back({change.event.type, present(resource, change.event.object)});
        }
      }
      if (bookmarks != bookmark_epoch_) {
        bookmarks = bookmark_epoch_;
        if (options.allow_bookmarks) {
          pending.push_back({kube::WatchEvent::Type::kBookmark,
                             json{{"metadata", {{"resourceVersion", std::to_string(rv_)}}}}});
        }
      }
    }
    if (!pending.empty()) {
      // The handler runs without the lock: it may call this client.
      lock.unlock();
      bool more = true;
      for (const kube::WatchEvent& event : pending) {
        if (!(more = handler(event))) break;
      }
      lock.lock();
      pending.clear();
      if (!more || !result.ok()) break;
      continue;
    }
    if (closing_ || watch_epoch_ != epoch || (options.stop != nullptr && options.stop->load()) ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    // A bounded wait: options.stop is set without a notification.
    changed_.wait_for(lock, std::chrono::milliseconds(20));
  }
  --open_watches_;
  changed_.notify_all();
  return result;
}

absl::StatusOr<kube::ServiceAccountToken> FakeKubeClient::requestToken(
    std::string_view namespace_name, std::string_view service_account,
    const std::vector<std::string>& /*audiences*/, std::chrono::seconds expiration) {
  runHook(KubeVerb::kToken);
  std::lock_guard lock(mu_);
  const kube::Resource accounts = kube::resources::serviceAccounts();
  if (absl::Status fault = enterLocked(KubeVerb::kToken, accounts); !fault.ok()) return fault;
  if (findLocked(accounts, namespace_name, service_account) == nullptr) {
    return notFound(accounts, service_account);
  }
  if (expiration < std::chrono::seconds(600)) {
    return invalid(accounts, service_account,
                   "spec.expirationSeconds: Invalid value: may not specify a duration less than "
                   "10 minutes");
  }
  return kube::ServiceAccountToken{
      .token = absl::StrCat("fake-token-", av(namespace_name), "-", av(service_account), "-",
                            ++token_counter_),
      .expiration = clock_.now() + expiration};
}

absl::StatusOr<json> FakeKubeClient::seed(const kube::Resource& resource, json object) {
  std::lock_guard lock(mu_);
  const std::string name = metaString(object, "name");
  if (!object.is_object() || name.empty()) {
    return absl::InvalidArgumentError("seed: the object needs metadata.name");
  }
  const std::string ns = resource.namespaced ? metaString(object, "namespace") : std::string();
  if (resource.namespaced && ns.empty()) {
    return absl::InvalidArgumentError("seed: a namespaced object needs metadata.namespace");
  }
  json& metadata = object["metadata"];
  Stored* existing = findLocked(resource, ns, name);
  if (existing != nullptr) {
    metadata["uid"] = existing->object["metadata"]["uid"];
    metadata["creationTimestamp"] = existing->object["metadata"]["creationTimestamp"];
  } else {
    metadata["uid"] = absl::StrCat("fake-uid-", ++uid_counter_);
    metadata["creationTimestamp"] = kube::formatTime(clock_.now());
  }
  if (isCustomResource(resource) && !metadata.contains("generation")) metadata["generation"] = 1;
  metadata["resourceVersion"] = nextRvLocked();
  object = present(resource, std::move(object));
  Stored& stored = objects_[storageKey(resource)][Key(ns, name)];
  stored.object = object;
  recordLocked(
      storageKey(resource),
      existing != nullptr ? kube::WatchEvent::Type::kModified : kube::WatchEvent::Type::kAdded,
      object);
  return object;
}

std::optional<json> FakeKubeClient::object(const kube::Resource& resource,
                                           std::string_view namespace_name,
                                           std::string_view name) const {
  std::lock_guard lock(mu_);
  Stored* stored = const_cast<FakeKubeClient*>(this)->findLocked(resource, namespace_name, name);
  if (stored == nullptr) return std::nullopt;
  return present(resource, stored->object);
}

std::vector<json> FakeKubeClient::objects(const kube::Resource& resource,
                                          std::string_view namespace_name) const {
  std::lock_guard lock(mu_);
  std::vector<json> out;
  if (auto collection = objects_.find(storageKey(resource)); collection != objects_.end()) {
    for (const auto& [key, stored] : collection->second) {
      if (namespace_name.empty() || key.first == namespace_name) {
        out.push_back(present(resource, stored.object));
      }
    }
  }
  return out;
}

void FakeKubeClient::failNext(KubeVerb verb, int count, absl::Status status,
                              std::optional<kube::Resource> resource) {
  std::lock_guard lock(mu_);
  if (count > 0) faults_.push_back(Fault{verb, count, std::move(status), std::move(resource)});
}

void FakeKubeClient::failNext(KubeVerb verb, int count, int http_status, std::string reason,
                              std::optional<kube::Resource> resource) {
  failNext(
      verb, count,
      error(http_status, reason, absl::StrCat("injected fault: HTTP ", http_status, " ", reason)),
      std::move(resource));
}

void FakeKubeClient::onNextCall(KubeVerb verb, std::function<void()> hook) {
  std::lock_guard lock(mu_);
  hooks_.emplace_back(verb, std::move(hook));
}

void FakeKubeClient::runHook(KubeVerb verb) {
  std::function<void()> hook;
  {
    std::lock_guard lock(mu_);
    const auto it = std::find_if(hooks_.begin(), hooks_.end(),
                                 [verb](const auto& entry) { return entry.first == verb; });
    if (it == hooks_.end()) return;
    hook = std::move(it->second);
    hooks_.erase(it);
  }
  hook();
}

void FakeKubeClient::clearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

int64_t FakeKubeClient::calls(KubeVerb verb) const {
  std::lock_guard lock(mu_);
  const auto it = calls_.find(verb);
  return it == calls_.end() ? 0 : it->second;
}

std::vector<FakeKubeWrite> FakeKubeClient::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

void FakeKubeClient::clearWrites() {
  std::lock_guard lock(mu_);
  writes_.clear();
}

std::string FakeKubeClient::currentResourceVersion() const {
  std::lock_guard lock(mu_);
  return std::to_string(rv_);
}

void FakeKubeClient::compactHistory() {
  std::lock_guard lock(mu_);
  history_.clear();
  compacted_rv_ = rv_;
  changed_.notify_all();
}

void FakeKubeClient::closeWatches() {
  std::lock_guard lock(mu_);
  ++watch_epoch_;
  changed_.notify_all();
}

void FakeKubeClient::sendBookmarks() {
  std::lock_guard lock(mu_);
  ++bookmark_epoch_;
  changed_.notify_all();
}

int FakeKubeClient::openWatches() const {
  std::lock_guard lock(mu_);
  return open_watches_;
}

}  // namespace secretsync::test
