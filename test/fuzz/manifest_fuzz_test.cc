// Fuzz target for manifests: YAML text through yamlToJson, then every document through the
// ExternalSecret and SecretStore parsers and, when they parse, the Vault store compilation.
// Beyond "no crash": errors carry the documented codes, and a parsed resource's diagnostics
// render to a status.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "pkg/api/external_secret.h"
#include "pkg/api/secret_store.h"
#include "pkg/api/vault_provider.h"
#include "pkg/common/yaml_json.h"

namespace {

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace api = secretsync::api;
  secretsync::common::YamlLimits limits;
  // Small bounds keep each run fast; the logic under test is the same.
  limits.max_nodes = 100'000;
  limits.max_scalar_bytes = 1 << 20;
  const auto docs = secretsync::common::yamlToJson(
      std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!docs.ok()) {
    check(docs.status().code() == absl::StatusCode::kInvalidArgument ||
          docs.status().code() == absl::StatusCode::kResourceExhausted);
    return 0;
  }
  for (const nlohmann::json& doc : *docs) {
    // Every produced value must serialise (no NaN, valid UTF-8 handled by replacement).
    (void)doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const auto es = api::parseExternalSecret(doc);
    if (es.ok()) {
      const absl::Status st = es->diagnostics.toStatus("ExternalSecret", es->object.metadata.name);
      check(st.ok() == es->diagnostics.ok());
      (void)es->object.status.toJson(true);
    } else {
      check(es.status().code() == absl::StatusCode::kInvalidArgument);
    }
    const auto store = api::parseSecretStore(doc);
    if (store.ok()) {
      (void)store->diagnostics.message();
      if (store->diagnostics.ok()) {
        (void)api::compileVaultStore(store->object, "fuzz");
      }
    } else {
      check(store.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
  return 0;
}
