#include "pkg/api/external_secret.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pkg/api/json_reader.h"
#include "pkg/api/template.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/duration.h"
#include "pkg/common/json_fields.h"

namespace secretsync::api {
namespace {

using internal::indexPath;
using internal::isDnsSubdomain;
using internal::keyPath;
using internal::ObjectReader;
using nlohmann::json;

template <typename E>
struct EnumName {
  std::string_view name;
  E value;
};

// Reads an enum field: absent or "" = `fallback` (the CRD default); anything else outside the
// table is "Unsupported value" listing the table, as the API server would.
template <typename E, size_t N>
E readEnum(ObjectReader& r, std::string_view key, E fallback, const EnumName<E> (&table)[N],
           Diagnostics& diag) {
  std::optional<std::string> v = r.string(key);
  if (!v.has_value() || v->empty()) {
    return fallback;
  }
  for (const auto& entry : table) {
    if (*v == entry.name) {
      return entry.value;
    }
  }
  std::vector<std::string_view> names;
  for (const auto& entry : table) {
    names.push_back(entry.name);
  }
  // notSupported takes an initializer_list; build the message by hand for a table.
  std::string supported;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&supported, i ? ", " : "", "\"", common::av(names[i]), "\"");
  }
  diag.errors.push_back({FieldError::Type::kNotSupported, r.pathOf(key), *v, supported});
  return fallback;
}

constexpr EnumName<StoreKind> kStoreKinds[] = {
    {"SecretStore", StoreKind::kSecretStore},
    {"ClusterSecretStore", StoreKind::kClusterSecretStore}};
constexpr EnumName<CreationPolicy> kCreationPolicies[] = {{"Owner", CreationPolicy::kOwner},
                                                          {"Orphan", CreationPolicy::kOrphan},
                                                          {"Merge", CreationPolicy::kMerge},
                                                          {"None", CreationPolicy::kNone}};
constexpr EnumName<DeletionPolicy> kDeletionPolicies[] = {{"Retain", DeletionPolicy::kRetain},
                                                          {"Delete", DeletionPolicy::kDelete},
                                                          {"Merge", DeletionPolicy::kMerge}};
constexpr EnumName<RefreshPolicy> kRefreshPolicies[] = {
    {"Periodic", RefreshPolicy::kPeriodic},
    {"CreatedOnce", RefreshPolicy::kCreatedOnce},
    {"OnChange", RefreshPolicy::kOnChange}};
constexpr EnumName<DecodingStrategy> kDecodings[] = {{"None", DecodingStrategy::kNone},
                                                     {"Base64", DecodingStrategy::kBase64},
                                                     {"Base64URL", DecodingStrategy::kBase64Url},
                                                     {"Auto", DecodingStrategy::kAuto}};
constexpr EnumName<MetadataPolicy> kMetadataPolicies[] = {{"None", MetadataPolicy::kNone},
                                                          {"Fetch", MetadataPolicy::kFetch}};
constexpr EnumName<NullBytePolicy> kNullBytePolicies[] = {{"Ignore", NullBytePolicy::kIgnore},
                                                          {"Fail", NullBytePolicy::kFail}};
constexpr EnumName<TemplateMergePolicy> kMergePolicies[] = {
    {"Replace", TemplateMergePolicy::kReplace}, {"Merge", TemplateMergePolicy::kMerge}};

// A Secret data key: what the API server accepts (validation.IsConfigMapKey).
bool isValidSecretKey(std::string_view key) {
  if (key.empty() || key.size() > 253 || key == "." || key == "..") {
    return false;
  }
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

ConversionStrategy readConversion(ObjectReader& r, Diagnostics& diag) {
  std::optional<std::string> v = r.string("conversionStrategy");
  if (!v.has_value() || v->empty() || *v == "Default") {
    return ConversionStrategy::kDefault;
  }
  if (*v == "Unicode") {
    diag.unsupportedField(r.pathOf("conversionStrategy"), "conversionStrategy \"Unicode\"");
  } else {
    diag.notSupported(r.pathOf("conversionStrategy"), *v, {"Default", "Unicode"});
  }
  return ConversionStrategy::kDefault;
}

std::optional<StoreRef> readStoreRef(const json* node, const std::string& path, Diagnostics& diag) {
  if (node == nullptr) {
    return std::nullopt;
  }
  ObjectReader r(node, path, diag);
  StoreRef ref;
  ref.name = r.string("name").value_or("");
  if (ref.name.empty()) {
    diag.required(r.pathOf("name"));
  }
  ref.kind = readEnum(r, "kind", StoreKind::kSecretStore, kStoreKinds, diag);
  r.finish();
  return ref;
}

// sourceRef {storeRef | generatorRef}: a store override is fine, a generator is not implemented.
std::optional<StoreRef> readSourceRef(ObjectReader& parent, Diagnostics& diag) {
  const json* node = parent.object("sourceRef");
  if (node == nullptr) {
    return std::nullopt;
  }
  ObjectReader r(node, parent.pathOf("sourceRef"), diag);
  std::optional<StoreRef> ref = readStoreRef(r.object("storeRef"), r.pathOf("storeRef"), diag);
  r.unsupported("generatorRef", "generators");
  if (r.has("storeRef") && r.has("generatorRef")) {
    diag.forbidden(r.path(), "may not have both storeRef and generatorRef");
  }
  r.finish();
  return ref;
}

RemoteRef readRemoteRef(const json* node, const std::string& path, bool with_metadata_policy,
                        Diagnostics& diag) {
  ObjectReader r(node, path, diag);
  RemoteRef ref;
  if (!r.present()) {
    diag.required(path);
    return ref;
  }
  ref.key = r.string("key").value_or("");
  if (ref.key.empty()) {
    diag.required(r.pathOf("key"));
  }
  ref.property = r.string("property").value_or("");
  ref.version = r.string("version").value_or("");
  ref.decoding_strategy =
      readEnum(r, "decodingStrategy", DecodingStrategy::kNone, kDecodings, diag);
  if (with_metadata_policy) {
    ref.metadata_policy =
        readEnum(r, "metadataPolicy", MetadataPolicy::kNone, kMetadataPolicies, diag);
  }
  ref.conversion_strategy = readConversion(r, diag);
  ref.null_byte_policy =
      readEnum(r, "nullBytePolicy", NullBytePolicy::kIgnore, kNullBytePolicies, diag);
  r.finish();
  return ref;
}

// Checks a template text parses within the subset secretsync renders; a construct outside it is
// an unsupported field (named with the construct), a syntax error an invalid value.
void checkTemplate(std::string_view text, const std::string& path, Diagnostics& diag) {
  auto parsed = Template::parse("", text);
  if (parsed.ok()) {
    return;
  }
  if (parsed.status().code() == absl::StatusCode::kUnimplemented) {
    diag.unsupportedField(path, std::string(parsed.status().message()));
  } else {
    diag.errors.push_back(
        {FieldError::Type::kInvalid, path, "<template>", std::string(parsed.status().message())});
  }
}

std::optional<SecretTemplate> readTemplate(const json* node, const std::string& path,
                                           ApiVersion version, Diagnostics& diag) {
  if (node == nullptr) {
    return std::nullopt;
  }
  ObjectReader r(node, path, diag);
  SecretTemplate t;
  t.type = r.string("type").value_or("");
  t.engine_version = r.stringOr("engineVersion", "v2");
  if (t.engine_version == "v1" && version == ApiVersion::kV1beta1) {
    diag.unsupportedField(r.pathOf("engineVersion"), "template engine \"v1\"; use \"v2\"");
  } else if (t.engine_version != "v2") {
    diag.notSupported(r.pathOf("engineVersion"), t.engine_version, {"v2"});
  }
  t.merge_policy = readEnum(r, "mergePolicy", TemplateMergePolicy::kReplace, kMergePolicies, diag);
  if (const json* meta = r.object("metadata"); meta != nullptr) {
    t.has_metadata = true;
    ObjectReader m(meta, r.pathOf("metadata"), diag);
    t.labels = m.stringMap("labels");
    t.annotations = m.stringMap("annotations");
    m.unsupported("finalizers");
    m.finish();
  }
  t.data = r.stringMap("data");
  for (const auto& [key, text] : t.data) {
    const std::string key_path = keyPath(r.pathOf("data"), key);
    if (!isValidSecretKey(key)) {
      diag.invalid(key_path, key,
                   "a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
    }
    checkTemplate(text, key_path, diag);
  }
  r.unsupported("templateFrom");
  r.finish();
  return t;
}

ExternalSecretTarget readTarget(const json* node, const ObjectMeta& meta, ApiVersion version,
                                Diagnostics& diag) {
  ObjectReader r(node, "spec.target", diag);
  ExternalSecretTarget target;
  target.name = r.stringOr("name", meta.name);
  // CreateOrMerge is newer ESO; recognised, not implemented.
  if (r.peekString("creationPolicy") == "CreateOrMerge") {
    r.ignore("creationPolicy");
    diag.unsupportedField(r.pathOf("creationPolicy"), "creationPolicy \"CreateOrMerge\"");
  } else {
    target.creation_policy =
        readEnum(r, "creationPolicy", CreationPolicy::kOwner, kCreationPolicies, diag);
  }
  target.deletion_policy =
      readEnum(r, "deletionPolicy", DeletionPolicy::kRetain, kDeletionPolicies, diag);
  target.immutable = r.boolean("immutable").value_or(false);
  target.template_spec = readTemplate(r.object("template"), r.pathOf("template"), version, diag);
  r.unsupported("manifest", "targets other than a Secret");

  // ESO's webhook rules: Delete needs a Secret we own; Merge needs a Secret to merge into.
  const bool owns = target.creation_policy == CreationPolicy::kOwner ||
                    target.creation_policy == CreationPolicy::kOrphan;
  if (target.deletion_policy == DeletionPolicy::kDelete && !owns) {
    diag.forbidden(r.pathOf("deletionPolicy"),
                   "deletionPolicy=Delete must not be used when the controller doesn't own the "
                   "secret. Please set creationPolicy=Owner");
  }
  if (target.deletion_policy == DeletionPolicy::kMerge &&
      target.creation_policy == CreationPolicy::kNone) {
    diag.forbidden(r.pathOf("deletionPolicy"),
                   "deletionPolicy=Merge must not be used with creationPolicy=None. There is no "
                   "Secret to merge with");
  }
  if (!target.name.empty() && !isDnsSubdomain(target.name)) {
    diag.invalid(r.pathOf("name"), target.name,
                 "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character");
  }
  r.finish();
  return target;
}

FindRef readFind(const json* node, const std::string& path, Diagnostics& diag) {
  ObjectReader r(node, path, diag);
  FindRef find;
  find.path = r.string("path").value_or("");
  if (const json* name = r.object("name"); name != nullptr) {
    ObjectReader n(name, r.pathOf("name"), diag);
    find.name_regexp = n.string("regexp").value_or("");
    if (find.name_regexp.empty()) {
      diag.required(n.pathOf("regexp"));
    }
    n.finish();
  }
  find.tags = r.stringMap("tags");
  find.decoding_strategy =
      readEnum(r, "decodingStrategy", DecodingStrategy::kNone, kDecodings, diag);
  find.conversion_strategy = readConversion(r, diag);
  r.ignore("nullBytePolicy");
  if (find.path.empty() && !r.has("name") && find.tags.empty()) {
    diag.errors.push_back(
        {FieldError::Type::kRequired, path, "", "find needs at least one of path, name or tags"});
  }
  r.finish();
  return find;
}

std::vector<Rewrite> readRewrites(const json* list, const std::string& path, Diagnostics& diag) {
  std::vector<Rewrite> out;
  if (list == nullptr) {
    return out;
  }
  for (size_t i = 0; i < list->size(); ++i) {
    ObjectReader r(&(*list)[i], indexPath(path, i), diag);
    const int kinds =
        (r.has("regexp") ? 1 : 0) + (r.has("transform") ? 1 : 0) + (r.has("merge") ? 1 : 0);
    if (kinds != 1) {
      diag.errors.push_back(
          {FieldError::Type::kRequired, r.path(), "", "exactly one of regexp, transform or merge"});
    }
    if (const json* re = r.object("regexp"); re != nullptr) {
      ObjectReader rr(re, r.pathOf("regexp"), diag);
      RewriteRegexp rewrite;
      rewrite.source = rr.string("source").value_or("");
      rewrite.target = rr.string("target").value_or("");
      if (rewrite.source.empty()) {
        diag.required(rr.pathOf("source"));
      }
      rr.finish();
      out.emplace_back(std::move(rewrite));
    }
    if (const json* tr = r.object("transform"); tr != nullptr) {
      ObjectReader tt(tr, r.pathOf("transform"), diag);
      RewriteTransform rewrite;
      rewrite.template_text = tt.string("template").value_or("");
      if (rewrite.template_text.empty()) {
        diag.required(tt.pathOf("template"));
      } else {
        checkTemplate(rewrite.template_text, tt.pathOf("template"), diag);
      }
      tt.finish();
      out.emplace_back(std::move(rewrite));
    }
    r.unsupported("merge");
    r.finish();
  }
  return out;
}

void readSpec(const json* node, ExternalSecret& es, Diagnostics& diag) {
  ObjectReader r(node, "spec", diag);
  ExternalSecretSpec& spec = es.spec;
  if (!r.present()) {
    diag.required("spec");
  }
  spec.secret_store_ref =
      readStoreRef(r.object("secretStoreRef"), r.pathOf("secretStoreRef"), diag);

  if (std::optional<std::string> interval = r.string("refreshInterval");
      interval.has_value() && !interval->empty()) {
    auto d = common::parseGoDuration(*interval);
    if (!d.ok()) {
      diag.invalid(r.pathOf("refreshInterval"), *interval, "must be a duration such as 1h or 30m");
    } else if (*d < absl::ZeroDuration()) {
      diag.invalid(r.pathOf("refreshInterval"), *interval, "must not be negative");
    } else {
      spec.refresh_interval = *d;
    }
  }
  spec.refresh_policy =
      readEnum(r, "refreshPolicy", RefreshPolicy::kPeriodic, kRefreshPolicies, diag);
  spec.target = readTarget(r.object("target"), es.metadata, es.api_version, diag);
  r.unsupported("syncWindows");

  bool needs_store = false;
  if (const json* data = r.array("data"); data != nullptr) {
    for (size_t i = 0; i < data->size(); ++i) {
      ObjectReader d(&(*data)[i], indexPath(r.pathOf("data"), i), diag);
      ExternalSecretData entry;
      entry.secret_key = d.string("secretKey").value_or("");
      if (entry.secret_key.empty()) {
        diag.required(d.pathOf("secretKey"));
      } else if (!isValidSecretKey(entry.secret_key)) {
        diag.invalid(d.pathOf("secretKey"), entry.secret_key,
                     "a valid config key must consist of alphanumeric characters, '-', '_' or "
                     "'.'");
      }
      entry.store_ref = readSourceRef(d, diag);
      const bool generator = d.has("sourceRef") && !entry.store_ref.has_value();
      if (!generator) {
        entry.remote_ref = readRemoteRef(d.object("remoteRef"), d.pathOf("remoteRef"), true, diag);
      } else {
        d.ignore("remoteRef");
      }
      needs_store = needs_store || !entry.store_ref.has_value();
      d.finish();
      spec.data.push_back(std::move(entry));
    }
  }
  if (const json* data_from = r.array("dataFrom"); data_from != nullptr) {
    for (size_t i = 0; i < data_from->size(); ++i) {
      ObjectReader d(&(*data_from)[i], indexPath(r.pathOf("dataFrom"), i), diag);
      ExternalSecretDataFrom entry;
      if (const json* extract = d.object("extract"); extract != nullptr) {
        entry.extract = readRemoteRef(extract, d.pathOf("extract"), true, diag);
      }
      if (const json* find = d.object("find"); find != nullptr) {
        entry.find = readFind(find, d.pathOf("find"), diag);
      }
      const bool has_source = d.has("sourceRef");
      entry.store_ref = readSourceRef(d, diag);
      const int kinds = (d.has("extract") ? 1 : 0) + (d.has("find") ? 1 : 0) +
                        (has_source && !entry.store_ref.has_value() ? 1 : 0);
      if (kinds == 0) {
        diag.errors.push_back({FieldError::Type::kRequired, d.path(), "",
                               "either extract, find, or sourceRef must be set to dataFrom"});
      } else if (kinds > 1) {
        diag.forbidden(d.path(), "only one of extract, find or sourceRef.generatorRef may be set");
      }
      entry.rewrite = readRewrites(d.array("rewrite"), d.pathOf("rewrite"), diag);
      needs_store = needs_store || !entry.store_ref.has_value();
      d.finish();
      spec.data_from.push_back(std::move(entry));
    }
  }
  if (spec.data.empty() && spec.data_from.empty()) {
    diag.errors.push_back({FieldError::Type::kRequired, r.pathOf("data"), "",
                           "either data or dataFrom should be specified"});
  }
  if (needs_store && !spec.secret_store_ref.has_value()) {
    diag.required(r.pathOf("secretStoreRef"));
  }
  r.finish();
}

}  // namespace

std::string_view storeKindName(StoreKind k) {
  return k == StoreKind::kSecretStore ? "SecretStore" : "ClusterSecretStore";
}

json ExternalSecretStatus::toJson(bool include_observed_generation) const {
  json out = json::object();
  json conds = json::array();
  for (const Condition& c : conditions) {
    conds.push_back(c.toJson());
  }
  out["conditions"] = std::move(conds);
  if (!refresh_time.empty()) {
    out["refreshTime"] = refresh_time;
  }
  if (!synced_resource_version.empty()) {
    out["syncedResourceVersion"] = synced_resource_version;
  }
  if (!binding_name.empty()) {
    out["binding"] = {{"name", binding_name}};
  }
  if (include_observed_generation && observed_generation.has_value()) {
    out["observedGeneration"] = *observed_generation;
  }
  return out;
}

ExternalSecretStatus ExternalSecretStatus::fromJson(const json& status) {
  ExternalSecretStatus out;
  if (!status.is_object()) {
    return out;
  }
  auto conds = status.find("conditions");
  out.conditions = internal::parseConditions(conds == status.end() ? nullptr : &*conds);
  out.refresh_time = common::jsonString(status, "refreshTime");
  out.synced_resource_version = common::jsonString(status, "syncedResourceVersion");
  out.binding_name = common::jsonString(common::jsonMember(status, "binding"), "name");
  auto og = status.find("observedGeneration");
  if (og != status.end() && og->is_number_integer()) {
    out.observed_generation = og->get<int64_t>();
  }
  return out;
}

absl::StatusOr<Parsed<ExternalSecret>> parseExternalSecret(const json& object) {
  auto version = internal::checkTypeMeta(object, {"ExternalSecret"}, nullptr);
  if (!version.ok()) {
    return version.status();
  }
  Parsed<ExternalSecret> out;
  ExternalSecret& es = out.object;
  Diagnostics& diag = out.diagnostics;
  es.api_version = *version;
  ObjectReader top(&object, "", diag);
  top.ignore("apiVersion");
  top.ignore("kind");
  es.metadata = internal::parseObjectMeta(top.object("metadata"), true, diag);
  readSpec(top.object("spec"), es, diag);
  if (const json* status = top.object("status"); status != nullptr) {
    es.status = ExternalSecretStatus::fromJson(*status);
  }
  top.finish();
  return out;
}

}  // namespace secretsync::api
