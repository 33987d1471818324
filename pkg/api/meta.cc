#include "pkg/api/meta.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pkg/api/json_reader.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_fields.h"

namespace secretsync::api {

using common::av;
using nlohmann::json;

std::string_view apiVersionString(ApiVersion v) {
  return v == ApiVersion::kV1 ? "external-secrets.io/v1" : "external-secrets.io/v1beta1";
}

json Condition::toJson() const {
  json out = {{"type", type},
              {"status", status},
              {"reason", reason},
              {"message", message},
              {"lastTransitionTime", last_transition_time}};
  if (observed_generation.has_value()) {
    out["observedGeneration"] = *observed_generation;
  }
  return out;
}

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const Condition& c : conditions) {
    if (c.type == type) {
      return &c;
    }
  }
  return nullptr;
}

bool setCondition(std::vector<Condition>& conditions, Condition c, std::string_view now) {
  for (Condition& existing : conditions) {
    if (existing.type != c.type) {
      continue;
    }
    c.last_transition_time =
        existing.status == c.status ? existing.last_transition_time : std::string(now);
    if (existing == c) {
      return false;
    }
    existing = std::move(c);
    return true;
  }
  c.last_transition_time = std::string(now);
  conditions.push_back(std::move(c));
  return true;
}

namespace internal {

namespace {

// One RFC 1123 label of any length: lower-case alphanumerics and '-', alphanumeric at both ends.
bool isLabelShaped(std::string_view label) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (label.empty() || !alnum(label.front()) || !alnum(label.back())) {
    return false;
  }
  return std::all_of(label.begin(), label.end(), [&](char c) { return alnum(c) || c == '-'; });
}

}  // namespace

// validation.IsDNS1123Subdomain: Secret names, and the names of ESO's objects. Its labels have no
// length limit of their own.
bool isDnsSubdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  for (absl::string_view label : absl::StrSplit(av(name), '.')) {
    if (!isLabelShaped(std::string_view(label.data(), label.size()))) {
      return false;
    }
  }
  return true;
}

// validation.IsDNS1123Label: namespace names.
bool isDnsLabel(std::string_view name) { return name.size() <= 63 && isLabelShaped(name); }

absl::StatusOr<ApiVersion> checkTypeMeta(const json& object,
                                         std::initializer_list<std::string_view> kinds,
                                         std::string* kind_out) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("resource must be a JSON object");
  }
  auto api = object.find("apiVersion");
  auto kind = object.find("kind");
  if (api == object.end() || !api->is_string()) {
    return absl::InvalidArgumentError("apiVersion: Required value");
  }
  if (kind == object.end() || !kind->is_string()) {
    return absl::InvalidArgumentError("kind: Required value");
  }
  const std::string& api_s = api->get_ref<const std::string&>();
  const std::string& kind_s = kind->get_ref<const std::string&>();
  bool kind_ok = false;
  for (std::string_view k : kinds) {
    kind_ok = kind_ok || kind_s == k;
  }
  if (!kind_ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: Unsupported value: \"", av(kind_s.substr(0, 64)), "\""));
  }
  if (kind_out != nullptr) {
    *kind_out = kind_s;
  }
  if (api_s == apiVersionString(ApiVersion::kV1)) {
    return ApiVersion::kV1;
  }
  if (api_s == apiVersionString(ApiVersion::kV1beta1)) {
    return ApiVersion::kV1beta1;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("apiVersion: Unsupported value: \"", av(api_s.substr(0, 64)),
                   "\": supported values: \"external-secrets.io/v1\", "
                   "\"external-secrets.io/v1beta1\""));
}

ObjectMeta parseObjectMeta(const json* metadata, bool namespaced, Diagnostics& diag) {
  ObjectMeta meta;
  ObjectReader r(metadata, "metadata", diag);
  meta.name = r.string("name").value_or("");
  // The API server refuses other names; a manifest read from a file is checked here, since both
  // name directories of `sync --output-dir` (a "../" must not lead out of it).
  if (meta.name.empty()) {
    diag.required("metadata.name");
  } else if (!isDnsSubdomain(meta.name)) {
    diag.invalid("metadata.name", meta.name,
                 "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character");
  }
  meta.namespace_name = r.string("namespace").value_or("");
  if (!namespaced && !meta.namespace_name.empty()) {
    // The API server drops it for cluster-scoped kinds; a manifest may carry it by mistake.
    meta.namespace_name.clear();
  } else if (!meta.namespace_name.empty() && !isDnsLabel(meta.namespace_name)) {
    diag.invalid("metadata.namespace", meta.namespace_name,
                 "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                 "or '-', and must start and end with an alphanumeric character");
  }
  meta.uid = r.string("uid").value_or("");
  meta.generation = r.integer("generation").value_or(0);
  meta.resource_version = r.string("resourceVersion").value_or("");
  meta.labels = r.stringMap("labels");
  meta.annotations = r.stringMap("annotations");
  meta.deletion_timestamp = r.string("deletionTimestamp").value_or("");
  meta.finalizers = r.stringList("finalizers");
  // The rest of ObjectMeta is the server's business; none of it is an unknown field.
  return meta;
}

std::vector<Condition> parseConditions(const json* list) {
  std::vector<Condition> out;
  if (list == nullptr || !list->is_array()) {
    return out;
  }
  for (const json& item : *list) {
    if (!item.is_object()) {
      continue;
    }
    Condition c;
    c.type = common::jsonString(item, "type");
    c.status = common::jsonString(item, "status");
    c.reason = common::jsonString(item, "reason");
    c.message = common::jsonString(item, "message");
    c.last_transition_time = common::jsonString(item, "lastTransitionTime");
    auto og = item.find("observedGeneration");
    if (og != item.end() && og->is_number_integer()) {
      c.observed_generation = og->get<int64_t>();
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace internal
}  // namespace secretsync::api
