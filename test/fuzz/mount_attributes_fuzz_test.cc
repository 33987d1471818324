// Fuzz target for the CSI MountRequest parser (pkg/csi/mount_attributes.h): outside input from
// the driver, i.e. from whoever can write a SecretProviderClass or a pod spec.
// The first byte picks what the rest is: the whole `attributes` JSON, or only the `objects` YAML
// inside otherwise valid attributes carrying a known token. Beyond "no crash, no exception", it
// checks the invariants the provider relies on.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "pkg/csi/mount_attributes.h"

namespace {

constexpr char kToken[] = "fuzz-token-must-never-appear-in-an-error";

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

// `input` is the fuzzed text: when it carries the token itself (the fuzzer learns it), an error
// quoting the input's own fields may show it, which is no leak.
void checkOrder(const absl::StatusOr<secretsync::csi::MountOrder>& order, std::string_view input) {
  if (!order.ok()) {
    check(order.status().code() == absl::StatusCode::kInvalidArgument);
    check(input.find(kToken) != std::string_view::npos ||
          std::string_view(order.status().message().data(), order.status().message().size())
                  .find(kToken) == std::string_view::npos);
    return;
  }
  if (order->dialect == secretsync::csi::Dialect::kSecretsStoreImport) {
    // The rest comes from the object (secrets_store_import_fuzz).
    check(!order->secrets_store_import.empty());
    check(order->objects.empty());
    check(!order->pod.namespace_name.empty());
    return;
  }
  check(!order->role_name.empty());
  check(!order->objects.empty());
  for (const auto& object : order->objects) {
    check(secretsync::csi::validateFilePath(object.object_name).ok());
    check(!object.ref.path.empty());
    check(!object.file_permission || *object.file_permission <= 0777);
  }
  check(!order->permission || *order->permission <= 0777);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    checkOrder(secretsync::csi::parseMountRequest(input, input, "420"), input);
    secretsync::csi::validateFilePath(input).IgnoreError();
    return 0;
  }
  nlohmann::json attributes = {
      {"roleName", "app"},
      {"csi.storage.k8s.io/pod.namespace", "prod"},
      {"csi.storage.k8s.io/serviceAccount.name", "app"},
      {"csi.storage.k8s.io/serviceAccount.tokens",
       nlohmann::json{{"vault", {{"token", kToken}}}}.dump()},
      {"objects", std::string(input)},
  };
  const std::string text =
      attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  checkOrder(secretsync::csi::parseMountRequest(text, "", ""), input);
  return 0;
}
