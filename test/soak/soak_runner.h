#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace secretsync::soak {

struct SoakOptions {
  // The whole run, from the first fault-free warm-up being over to the start of the final
  // convergence check (which may take up to convergence_bound more).
  std::chrono::milliseconds duration{std::chrono::seconds(60)};
  uint64_t seed = 1;
  // The secretsync binary run as `controller` (two replicas) and `csi-provider`.
  std::string secretsync;
  // Logs, kubeconfig, CA file, socket, mount targets. Must exist and be private.
  std::string workdir;
  // ExternalSecrets alive at any time (about), and Vault paths they read.
  int external_secrets = 12;
  int vault_paths = 6;
  // After the last fault, Secrets must catch up within this; so must the final check.
  std::chrono::milliseconds convergence_bound{std::chrono::seconds(60)};
};

// Runs the soak: the Kubernetes and Vault doubles in-process over TLS, two `secretsync controller`
// replicas with leader election and one `secretsync csi-provider` as child processes, a changing
// workload (Vault values, ExternalSecrets, a store, CSI mounts) under a random fault schedule,
// invariants checked throughout and at the end.
// @return the summary (see README/the report for its fields; "verdict" is "pass" or "fail", and
// "violations" lists what failed); an error only when the soak could not be set up.
absl::StatusOr<nlohmann::json> runSoak(const SoakOptions& options);

}  // namespace secretsync::soak
