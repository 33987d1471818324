#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "pkg/api/field_errors.h"
#include "pkg/api/meta.h"

namespace secretsync::api {

enum class StoreKind { kSecretStore, kClusterSecretStore };
std::string_view storeKindName(StoreKind k);

// spec.secretStoreRef and sourceRef.storeRef.
struct StoreRef {
  std::string name;
  StoreKind kind = StoreKind::kSecretStore;
  friend bool operator==(const StoreRef&, const StoreRef&) = default;
};

enum class CreationPolicy { kOwner, kOrphan, kMerge, kNone };
enum class DeletionPolicy { kRetain, kDelete, kMerge };
enum class RefreshPolicy { kPeriodic, kCreatedOnce, kOnChange };
enum class DecodingStrategy { kNone, kBase64, kBase64Url, kAuto };
enum class MetadataPolicy { kNone, kFetch };
enum class ConversionStrategy { kDefault };  // "Unicode" is reported unsupported.
enum class NullBytePolicy { kIgnore, kFail };
enum class TemplateMergePolicy { kReplace, kMerge };

// spec.data[].remoteRef.
struct RemoteRef {
  std::string key;
  std::string property;  // gjson path; empty = the whole secret as JSON
  std::string version;   // KV v2 version; empty = current
  DecodingStrategy decoding_strategy = DecodingStrategy::kNone;
  MetadataPolicy metadata_policy = MetadataPolicy::kNone;
  ConversionStrategy conversion_strategy = ConversionStrategy::kDefault;
  NullBytePolicy null_byte_policy = NullBytePolicy::kIgnore;
};

struct ExternalSecretData {
  std::string secret_key;
  RemoteRef remote_ref;
  // sourceRef.storeRef: this entry reads from another store than spec.secretStoreRef.
  std::optional<StoreRef> store_ref;
};

// spec.dataFrom[].extract: one secret's top-level keys become Secret keys.
using ExtractRef = RemoteRef;

// spec.dataFrom[].find: a recursive list filtered by name or tags.
struct FindRef {
  std::string path;         // empty = the store's path
  std::string name_regexp;  // name.regexp; empty = no name filter
  std::map<std::string, std::string> tags;
  DecodingStrategy decoding_strategy = DecodingStrategy::kNone;
  ConversionStrategy conversion_strategy = ConversionStrategy::kDefault;
};

// spec.dataFrom[].rewrite[]: exactly one of regexp and transform.
struct RewriteRegexp {
  std::string source;
  std::string target;
};
struct RewriteTransform {
  std::string template_text;
};
using Rewrite = std::variant<RewriteRegexp, RewriteTransform>;

struct ExternalSecretDataFrom {
  std::optional<ExtractRef> extract;
  std::optional<FindRef> find;
  std::vector<Rewrite> rewrite;
  std::optional<StoreRef> store_ref;
};

// spec.target.template (engine v2).
struct SecretTemplate {
  std::string type;  // Secret type; empty = Opaque (or the existing Secret's)
  std::string engine_version = "v2";
  TemplateMergePolicy merge_policy = TemplateMergePolicy::kReplace;
  // True when template.metadata was given: then the ES's own labels/annotations are not copied.
  bool has_metadata = false;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> data;  // key -> Go template text
};

struct ExternalSecretTarget {
  // Defaults to the ExternalSecret's name.
  std::string name;
  CreationPolicy creation_policy = CreationPolicy::kOwner;
  DeletionPolicy deletion_policy = DeletionPolicy::kRetain;
  bool immutable = false;
  std::optional<SecretTemplate> template_spec;
};

struct ExternalSecretSpec {
  // nullopt only when every entry names its own store (sourceRef.storeRef).
  std::optional<StoreRef> secret_store_ref;
  // Default 1h. Zero means "sync once and never again" (ESO).
  absl::Duration refresh_interval = absl::Hours(1);
  RefreshPolicy refresh_policy = RefreshPolicy::kPeriodic;
  ExternalSecretTarget target;
  std::vector<ExternalSecretData> data;
  std::vector<ExternalSecretDataFrom> data_from;
};

// status.binding is a LocalObjectReference to the Secret (servicebinding.io).
struct ExternalSecretStatus {
  std::vector<Condition> conditions;
  std::string refresh_time;  // RFC 3339 of the last successful refresh
  std::string synced_resource_version;
  std::string binding_name;
  // Not in ESO's schema: kept only in memory unless the CRD carries it (see toJson()).
  std::optional<int64_t> observed_generation;

  // The `status` object as ESO writes it. `include_observed_generation` adds observedGeneration,
  // which ESO's CRD schema does not have (the API server would prune it).
  nlohmann::json toJson(bool include_observed_generation = false) const;
  static ExternalSecretStatus fromJson(const nlohmann::json& status);
};

struct ExternalSecret {
  ApiVersion api_version = ApiVersion::kV1;
  ObjectMeta metadata;
  ExternalSecretSpec spec;
  ExternalSecretStatus status;
};

// A parsed resource and what parsing found. The object is filled as far as it could be read, with
// defaults applied, even when `diagnostics` has errors (so a caller can still name it).
template <typename T>
struct Parsed {
  T object;
  Diagnostics diagnostics;
};

// Reads an ExternalSecret (v1 or v1beta1) as the API server returns it or as a manifest holds it,
// applying ESO's defaults and validating it: CRD schema (required fields, enums, types) plus ESO's
// webhook rules (data and dataFrom not both empty; creationPolicy Merge/None with deletionPolicy
// Delete; find needs path, name or tags; rewrite needs exactly one of regexp/transform; ...).
// Fields ESO has that secretsync does not implement are in diagnostics.unsupported, each named.
// @return kInvalidArgument only when it is not an ExternalSecret at all (not an object, another
// kind or apiVersion); everything else is in Parsed::diagnostics.
absl::StatusOr<Parsed<ExternalSecret>> parseExternalSecret(const nlohmann::json& object);

}  // namespace secretsync::api
