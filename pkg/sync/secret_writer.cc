#include "pkg/sync/secret_writer.h"

#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/digest.h"
#include "pkg/common/json_fields.h"

namespace secretsync::sync {
namespace {

using Json = nlohmann::json;

// The Secret's data as decoded bytes; values that are not valid base64 are skipped (the API server
// never stores such).
std::map<std::string, common::SecretString> decodedData(const Json& secret) {
  std::map<std::string, common::SecretString> out;
  const Json& data = common::jsonMember(secret, "data");
  if (!data.is_object()) return out;
  for (const auto& [key, value] : data.items()) {
    std::string decoded;
    if (value.is_string() && absl::Base64Unescape(value.get_ref<const std::string&>(), &decoded)) {
      out.emplace(key, common::SecretString(std::move(decoded)));
    }
  }
  return out;
}

Json encodedData(const std::map<std::string, common::SecretString>& data) {
  Json out = Json::object();
  for (const auto& [key, value] : data) out[key] = absl::Base64Escape(value.reveal());
  return out;
}

// A label value naming the owner without its name's length or characters (labels hold at most 63
// characters of a restricted set).
std::string ownerLabelValue(const SecretTarget& target) {
  return common::hexDigest(common::DigestAlgorithm::kSha224,
                           absl::StrCat(target.namespace_name, "/", target.owner_name));
}

Json ownerReference(const SecretTarget& target) {
  return {{"apiVersion", target.owner_api_version},
          {"kind", "ExternalSecret"},
          {"name", target.owner_name},
          {"uid", target.owner_uid},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

std::string shownSecret(const SecretTarget& target) {
  return absl::StrCat("Secret \"", target.namespace_name, "/", target.name, "\"");
}

// Sets `values` into the string map `into` (created when absent). @return true when it changed.
bool setAll(Json& into, const std::map<std::string, std::string>& values) {
  bool changed = false;
  if (!into.is_object()) {
    if (values.empty()) return false;
    into = Json::object();
  }
  for (const auto& [key, value] : values) {
    const auto it = into.find(key);
    if (it == into.end() || *it != value) {
      into[key] = value;
      changed = true;
    }
  }
  return changed;
}

}  // namespace

bool secretIntact(const Json& existing) {
  const Json& meta = common::jsonMember(existing, "metadata");
  if (common::jsonString(common::jsonMember(meta, "labels"), kManagedLabel) != "true") {
    return false;
  }
  const std::string hash =
      common::jsonString(common::jsonMember(meta, "annotations"), kDataHashAnnotation);
  return !hash.empty() && hash == esoDataHash(decodedData(existing));
}

absl::StatusOr<std::optional<Json>> planSecretWrite(const DesiredSecret& desired,
                                                    const SecretTarget& target,
                                                    const Json* existing) {
  if (target.creation_policy == api::CreationPolicy::kNone) return std::nullopt;
  const bool owner = target.creation_policy == api::CreationPolicy::kOwner;
  const bool merge = target.creation_policy == api::CreationPolicy::kMerge;
  if (merge && existing == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        shownSecret(target), " does not exist; creationPolicy Merge only adds to an existing one"));
  }

  if (existing != nullptr &&
      !(existing->is_object() && common::jsonMember(*existing, "metadata").is_object())) {
    return absl::InvalidArgumentError(
        absl::StrCat(shownSecret(target), ": the API server's copy has no metadata object"));
  }

  Json secret =
      existing != nullptr
          ? *existing
          : Json{{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", target.name}, {"namespace", target.namespace_name}}}};
  Json& meta = secret["metadata"];
  bool changed = existing == nullptr;
  // The write goes to the target's path: a body naming another object would be refused.
  for (const auto& [field, value] :
       {std::pair{"name", &target.name}, std::pair{"namespace", &target.namespace_name}}) {
    if (common::jsonString(meta, field) != *value) {
      meta[field] = *value;
      changed = true;
    }
  }

  // Ownership.
  if (owner) {
    Json& refs = meta["ownerReferences"];
    if (!refs.is_array()) refs = Json::array();
    bool ours = false;
    for (const Json& ref : refs) {
      if (!common::jsonBool(ref, "controller")) continue;
      if (common::jsonString(ref, "uid") != target.owner_uid) {
        return absl::FailedPreconditionError(absl::StrCat(
            shownSecret(target), " is controlled by ", common::jsonString(ref, "kind"), " \"",
            common::jsonString(ref, "name"), "\"; creationPolicy Owner will not take it over"));
      }
      ours = true;
    }
    if (!ours) {
      refs.push_back(ownerReference(target));
      changed = true;
    }
  }

  // Data.
  std::map<std::string, common::SecretString> data = desired.data;
  if (merge) {
    std::map<std::string, common::SecretString> merged = decodedData(*existing);
    for (const auto& [key, value] : data) merged.insert_or_assign(key, value);
    data = std::move(merged);
  }
  const Json encoded = encodedData(data);
  const Json& old_data = common::jsonMember(secret, "data");
  const bool data_changed = (old_data.is_object() ? old_data : Json::object()) != encoded;
  if (data_changed) {
    if (existing != nullptr && common::jsonBool(*existing, "immutable")) {
      return absl::FailedPreconditionError(
          absl::StrCat(shownSecret(target),
                       " is immutable and its data differs; delete it to let it be "
                       "written again"));
    }
    secret["data"] = encoded;
    changed = true;
  }

  // Type: kept when the template sets none (ESO), Opaque for a new Secret.
  const std::string old_type = common::jsonString(secret, "type");
  const std::string type =
      !desired.type.empty() ? desired.type : (old_type.empty() ? "Opaque" : old_type);
  if (type != old_type) {
    if (existing != nullptr && !old_type.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          shownSecret(target), " has type \"", old_type, "\", the target asks for \"", type,
          "\": a Secret's type cannot change; delete it to let it be recreated"));
    }
    secret["type"] = type;
    changed = true;
  }
  if (target.immutable && !common::jsonBool(secret, "immutable")) {
    secret["immutable"] = true;
    changed = true;
  }

  // Labels and annotations: ours set, others' kept.
  std::map<std::string, std::string> labels = desired.labels;
  labels[std::string(kManagedLabel)] = "true";
  if (owner) labels[std::string(kCreatedByLabel)] = ownerLabelValue(target);
  std::map<std::string, std::string> annotations = desired.annotations;
  annotations[std::string(kDataHashAnnotation)] = merge ? esoDataHash(data) : desired.data_hash;
  changed |= setAll(meta["labels"], labels);
  changed |= setAll(meta["annotations"], annotations);
  if (meta["labels"].is_null()) meta.erase("labels");
  if (meta["annotations"].is_null()) meta.erase("annotations");

  if (!changed) return std::nullopt;
  // Server-owned fields are not ours to send back.
  meta.erase("managedFields");
  return std::optional<Json>(std::move(secret));
}

absl::StatusOr<SecretWriteOutcome> writeSecret(kube::KubeClient& client,
                                               const DesiredSecret& desired,
                                               const SecretTarget& target, const Json* existing,
                                               const kube::WriteOptions& options) {
  if (target.creation_policy == api::CreationPolicy::kNone) return SecretWriteOutcome::kNotWritten;
  absl::StatusOr<std::optional<Json>> planned = planSecretWrite(desired, target, existing);
  if (!planned.ok()) return planned.status();
  if (!planned->has_value()) return SecretWriteOutcome::kUnchanged;
  const kube::Resource secrets = kube::resources::secrets();
  if (existing == nullptr) {
    absl::StatusOr<Json> created =
        client.create(secrets, target.namespace_name, **planned, options);
    if (!created.ok()) return created.status();
    return SecretWriteOutcome::kCreated;
  }
  absl::StatusOr<Json> updated = client.update(secrets, target.namespace_name, **planned, options);
  if (!updated.ok()) return updated.status();
  return SecretWriteOutcome::kUpdated;
}

}  // namespace secretsync::sync
