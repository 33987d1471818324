// Fuzz target for the SecretsStoreImport compiler (applySecretsStoreImport in
// pkg/csi/mount_attributes.h): outside input from whoever can write a SecretsStoreImport in a
// namespace. The input is the object's JSON, as the API server would return it (the API server
// checks the CRD's schema first; the provider must not rely on that). Beyond "no crash, no
// exception", it checks the invariants the provider relies on.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "pkg/csi/mount_attributes.h"

namespace {

namespace csi = secretsync::csi;

constexpr char kToken[] = "fuzz-token-must-never-appear-in-an-error";

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

// The order parseMountRequest returns for a Deckhouse volume, before the object is applied.
const csi::MountOrder& importOrder() {
  static const csi::MountOrder* const order = [] {
    const nlohmann::json attributes = {
        {"secretsStoreImport", "app-secrets"},
        {"csi.storage.k8s.io/pod.namespace", "prod"},
        {"csi.storage.k8s.io/serviceAccount.name", "app"},
        {"csi.storage.k8s.io/serviceAccount.tokens",
         nlohmann::json{{"vault", {{"token", kToken}}}}.dump()},
    };
    auto parsed = csi::parseMountRequest(attributes.dump(), "", "420");
    check(parsed.ok());
    return new csi::MountOrder(*std::move(parsed));
  }();
  return *order;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const nlohmann::json object = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) {
    return 0;
  }
  csi::MountOrder order = importOrder();
  const absl::Status status =
      csi::applySecretsStoreImport(object, csi::MountAttributesLimits{}, &order);
  if (!status.ok()) {
    const std::string_view message(status.message().data(), status.message().size());
    check(status.code() == absl::StatusCode::kInvalidArgument);
    check(message.rfind("SecretsStoreImport \"prod/app-secrets\": ", 0) == 0);
    // The token comes from the driver's attribute, never from the object: the error may quote
    // the object's own text (which the fuzzer can make equal to it), never the attribute.
    check(input.find(kToken) != std::string_view::npos ||
          message.find(kToken) == std::string_view::npos);
    return 0;
  }
  check(!order.role_name.empty());
  check(!order.objects.empty());
  check(order.objects.size() <= csi::MountAttributesLimits{}.max_objects);
  for (const auto& file : order.objects) {
    check(csi::validateFilePath(file.object_name).ok());
    check(!file.ref.path.empty());
    check(file.encoding == csi::Encoding::kUtf8 || file.encoding == csi::Encoding::kBase64);
    check(!file.file_permission.has_value());
  }
  // The pod and its token are the driver's, never the object's.
  check(order.pod.namespace_name == "prod" && order.pod.service_account == "app");
  check(order.service_account_tokens.at("vault").token.reveal() == kToken);
  return 0;
}
