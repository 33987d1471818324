#include "test/support/kube_double/list_options.h"

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"

namespace secretsync::test::kube {

std::string encodeContinueToken(const ContinueToken& token) {
  nlohmann::json doc = {
      {"v", "kube-double/1"}, {"rv", token.rv}, {"ns", token.ns}, {"name", token.name}};
  return absl::WebSafeBase64Escape(doc.dump());
}

std::optional<ContinueToken> decodeContinueToken(const std::string& text) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(text, &raw)) {
    return std::nullopt;
  }
  nlohmann::json doc = nlohmann::json::parse(raw, nullptr, false);
  if (!doc.is_object() || doc.value("v", "") != "kube-double/1" || !doc.contains("rv") ||
      !doc["rv"].is_number_unsigned() || !doc.contains("ns") || !doc["ns"].is_string() ||
      !doc.contains("name") || !doc["name"].is_string()) {
    return std::nullopt;
  }
  return ContinueToken{doc["rv"].get<uint64_t>(), doc["ns"].get<std::string>(),
                       doc["name"].get<std::string>()};
}

std::vector<std::string> selectableFields(const ResourceType& type) {
  std::vector<std::string> out = {"metadata.name", "metadata.namespace"};
  if (type.behavior == ResourceBehavior::kSecret) {
    out.push_back("type");
  } else if (type.behavior == ResourceBehavior::kEvent) {
    for (const char* f : {"involvedObject.kind", "involvedObject.name", "involvedObject.namespace",
                          "involvedObject.uid", "involvedObject.apiVersion", "reason", "type",
                          "regarding.name", "regarding.kind", "regarding.namespace"}) {
      out.push_back(f);
    }
  }
  return out;
}

}  // namespace secretsync::test::kube
