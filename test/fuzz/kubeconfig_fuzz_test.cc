// Fuzz target for the kubeconfig parser (pkg/kube/kube_config.h): a file a user hands us. Beyond
// "no crash, no exception", every error names the file, and a parsed config names a usable server
// and never trusts a CA with verification off.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "pkg/kube/kube_config.h"

namespace {

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  // Relative file references resolve under a directory that does not exist, so nothing outside
  // the input is read.
  const std::string path = "/nonexistent-fuzz-dir/config";
  for (const std::string& context : {std::string(), std::string("main")}) {
    const auto config = secretsync::kube::parseKubeconfig(input, path, context);
    if (!config.ok()) {
      const auto code = config.status().code();
      check(code == absl::StatusCode::kInvalidArgument ||
            code == absl::StatusCode::kResourceExhausted);
      const std::string message(config.status().message());
      check(absl::StrContains(message, path));
      continue;
    }
    check(absl::StartsWithIgnoreCase(config->server, "https://") ||
          absl::StartsWithIgnoreCase(config->server, "http://"));
    check(!absl::EndsWith(config->server, "/"));
    check(!(config->tls.insecure_skip_verify &&
            (!config->tls.ca_pem.empty() || !config->tls.ca_file.empty())));
  }
  return 0;
}
