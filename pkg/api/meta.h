#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/api/field_errors.h"

namespace secretsync::api {

inline constexpr std::string_view kGroup = "external-secrets.io";

// The served versions we read. Both have the same shape for everything secretsync implements;
// where they differ (v1beta1 still accepts template engineVersion v1) the parser says so.
enum class ApiVersion { kV1, kV1beta1 };

std::string_view apiVersionString(ApiVersion v);  // "external-secrets.io/v1"

// The part of metav1.ObjectMeta the controller acts on.
struct ObjectMeta {
  std::string name;
  // Empty for cluster-scoped kinds.
  std::string namespace_name;
  std::string uid;
  int64_t generation = 0;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // RFC 3339; empty unless the object is being deleted.
  std::string deletion_timestamp;
  std::vector<std::string> finalizers;
};

// metav1.Condition (kubernetes-api.md §3.4), as ESO writes it on every kind.
struct Condition {
  std::string type;    // "Ready"
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  std::string last_transition_time;  // RFC 3339
  std::optional<int64_t> observed_generation;

  nlohmann::json toJson() const;
  friend bool operator==(const Condition&, const Condition&) = default;
};

// Sets `c` in `conditions` (a map keyed by type), keeping the old lastTransitionTime when the
// status did not flip and using `now` otherwise, as the API conventions ask.
// @return true when anything changed (so a caller can skip a status write that changes nothing).
bool setCondition(std::vector<Condition>& conditions, Condition c, std::string_view now);
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);

namespace internal {

// Checks apiVersion and kind (kInvalidArgument naming what is wrong: another group, an unserved
// version, another kind), and that `object` is a JSON object.
absl::StatusOr<ApiVersion> checkTypeMeta(const nlohmann::json& object,
                                         std::initializer_list<std::string_view> kinds,
                                         std::string* kind_out);
// Checks name (a DNS-1123 subdomain) and, for namespaced kinds, namespace (a DNS-1123 label), as
// the API server does.
ObjectMeta parseObjectMeta(const nlohmann::json* metadata, bool namespaced, Diagnostics& diag);
// validation.IsDNS1123Subdomain (at most 253 characters) and IsDNS1123Label (at most 63).
bool isDnsSubdomain(std::string_view name);
bool isDnsLabel(std::string_view name);
std::vector<Condition> parseConditions(const nlohmann::json* list);

}  // namespace internal
}  // namespace secretsync::api
