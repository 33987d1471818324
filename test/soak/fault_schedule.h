#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace secretsync::soak {

// Every fault the soak injects. The order is the one summaries print.
enum class FaultKind {
  kVault5xxStorm,        // every Vault request gets 503 for a while
  kVault429Storm,        // every Vault request gets 429 with Retry-After
  kVaultLatency,         // every Vault reply is delayed
  kVaultDropConnection,  // every Vault connection is reset
  kVaultTokenExpiry,     // Vault's clock jumps past every login token's max TTL
  kVaultTokenRevoke,     // the token of the tokenSecretRef store is revoked, later rotated
  kKubeConflict,         // Secret writes get 409 Conflict
  kKube500,              // every API request gets 500
  kKube429,              // every API request gets 429 with Retry-After
  kKubeWatchExpiry,      // watch history compacted and watches closed (410 on resume)
  kKubeRestart,          // the API server stops and listens again, state kept
  kControllerKill,       // a controller replica gets SIGKILL, restarted later
  kLeaderChange,         // the leader gets SIGTERM (releases the Lease), restarted later
  kCsiProviderKill,      // the CSI provider gets SIGKILL, restarted later
};

inline constexpr int kFaultKindCount = 14;

// @return the snake_case name used in logs and the summary ("vault_5xx_storm").
std::string_view faultKindName(FaultKind kind);

// Process faults kill or stop a child; at most one runs at a time so a replica is always coming
// back before the next one goes.
bool isProcessFault(FaultKind kind);

struct ScheduledFault {
  FaultKind kind;
  // From the start of the run.
  std::chrono::milliseconds start{0};
  // How long the fault lasts (storms), or how long until the killed process is restarted.
  std::chrono::milliseconds duration{0};
  // Kind-specific: the latency of kVaultLatency, the replica (0/1) of kControllerKill.
  int64_t param = 0;
};

struct ScheduleOptions {
  uint64_t seed = 1;
  // Faults start in [first_start, last_start) and all end by last_start + the longest duration.
  std::chrono::milliseconds first_start{std::chrono::seconds(8)};
  std::chrono::milliseconds last_start{std::chrono::seconds(36)};
  // Gap between two fault starts, drawn uniformly from this range.
  std::chrono::milliseconds min_gap{std::chrono::milliseconds(800)};
  std::chrono::milliseconds max_gap{std::chrono::milliseconds(3000)};
  // A process fault starts at least this long after the previous one ended.
  std::chrono::milliseconds process_fault_spacing{std::chrono::seconds(4)};
};

// A random fault schedule, reproducible from the seed: kinds are drawn as shuffled rounds of all
// kinds (every kind once before any repeats), so a window long enough for one round covers all.
// Sorted by start.
std::vector<ScheduledFault> makeSchedule(const ScheduleOptions& options);

// @return when the last fault of `schedule` ends (0 for an empty one).
std::chrono::milliseconds scheduleEnd(const std::vector<ScheduledFault>& schedule);

}  // namespace secretsync::soak
