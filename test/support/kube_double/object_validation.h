#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test/support/kube_double/api_status.h"

namespace secretsync::test::kube {

// RFC 1123 subdomain (≤ 253) and label (≤ 63), as apimachinery's validation.
bool isDnsSubdomain(const std::string& name);
bool isDnsLabel(const std::string& name);

// The checks every object gets on create and update (reference §1.3): metadata.name, label keys
// and values, annotation size, ownerReferences (fields, at most one controller).
// @return the causes; empty when valid.
std::vector<StatusCause> validateObjectMeta(const nlohmann::json& object, bool namespaced,
                                            bool name_is_label);

// Normalises a Secret about to be stored: merges stringData into data (stringData wins) and
// drops it, defaults type to Opaque. Then validates data keys, base64, the 1 MiB decoded limit
// and the type's required keys. `old` is the stored Secret on update (type and immutable rules).
// @return the causes; empty when valid.
std::vector<StatusCause> normalizeAndValidateSecret(nlohmann::json& secret,
                                                    const nlohmann::json* old);

// Events (core/v1 and events.k8s.io/v1): the required fields of reference §5.
std::vector<StatusCause> validateEvent(const nlohmann::json& event, const std::string& group);

// Standard base64 with padding (RFC 4648 §4), strictly. nullopt on anything else.
std::optional<std::string> decodeStdBase64(const std::string& in);

}  // namespace secretsync::test::kube
