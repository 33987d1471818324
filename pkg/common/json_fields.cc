#include "pkg/common/json_fields.h"

namespace secretsync::common {

const nlohmann::json& jsonMember(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json kAbsent;
  if (!object.is_object()) return kAbsent;
  const auto it = object.find(key);
  return it == object.end() ? kAbsent : *it;
}

std::string jsonString(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = jsonMember(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

bool jsonBool(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = jsonMember(object, key);
  return value.is_boolean() && value.get<bool>();
}

std::string metadataString(const nlohmann::json& object, std::string_view key) {
  return jsonString(jsonMember(object, "metadata"), key);
}

}  // namespace secretsync::common
