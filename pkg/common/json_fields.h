#pragma once

#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace secretsync::common {

// Reads of JSON that came from outside (the API server, a manifest, a Vault reply) before or
// without a schema check. nlohmann's value() and get<>() throw when a member has another type than
// asked for; these compare instead, so a hostile `{"kind": 409}` reads as absent, never as a throw.
// Pure functions: safe from any thread.

// Member `key` of `object`; a null value when `object` is not an object or has no such member.
const nlohmann::json& jsonMember(const nlohmann::json& object, std::string_view key);

// Member `key` of `object` when it is a string, else "".
std::string jsonString(const nlohmann::json& object, std::string_view key);

// Member `key` of `object` when it is a boolean, else false.
bool jsonBool(const nlohmann::json& object, std::string_view key);

// metadata.<key> of a Kubernetes object when it is a string, else "".
std::string metadataString(const nlohmann::json& object, std::string_view key);

}  // namespace secretsync::common
