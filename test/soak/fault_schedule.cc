#include "test/soak/fault_schedule.h"

#include <algorithm>
#include <random>

namespace secretsync::soak {
namespace {

using std::chrono::milliseconds;

milliseconds uniform(std::mt19937_64& rng, int64_t low_ms, int64_t high_ms) {
  return milliseconds(std::uniform_int_distribution<int64_t>(low_ms, high_ms)(rng));
}

// Durations are short enough that a storm delays the controller (retries, backoff) without
// making it give up: a Lease renewal must still succeed within its 10 s deadline, so API faults
// stay well below that.
ScheduledFault draw(FaultKind kind, std::mt19937_64& rng) {
  ScheduledFault fault{.kind = kind};
  switch (kind) {
    case FaultKind::kVault5xxStorm:
      fault.duration = uniform(rng, 1500, 5000);
      break;
    case FaultKind::kVault429Storm:
      fault.duration = uniform(rng, 1500, 4000);
      break;
    case FaultKind::kVaultLatency:
      fault.duration = uniform(rng, 3000, 8000);
      fault.param = uniform(rng, 200, 1500).count();
      break;
    case FaultKind::kVaultDropConnection:
      fault.duration = uniform(rng, 1000, 3000);
      break;
    case FaultKind::kVaultTokenExpiry:
    case FaultKind::kKubeWatchExpiry:
      break;  // instantaneous
    case FaultKind::kVaultTokenRevoke:
      fault.duration = uniform(rng, 2000, 5000);
      break;
    case FaultKind::kKubeConflict:
      fault.duration = uniform(rng, 1000, 4000);
      break;
    case FaultKind::kKube500:
    case FaultKind::kKube429:
      fault.duration = uniform(rng, 1000, 3000);
      break;
    case FaultKind::kKubeRestart:
      fault.duration = uniform(rng, 500, 3000);
      break;
    case FaultKind::kControllerKill:
      fault.duration = uniform(rng, 1000, 3000);
      fault.param = uniform(rng, 0, 1).count();
      break;
    case FaultKind::kLeaderChange:
      fault.duration = uniform(rng, 1000, 3000);
      break;
    case FaultKind::kCsiProviderKill:
      fault.duration = uniform(rng, 500, 2000);
      break;
  }
  return fault;
}

}  // namespace

std::string_view faultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kVault5xxStorm:
      return "vault_5xx_storm";
    case FaultKind::kVault429Storm:
      return "vault_429_storm";
    case FaultKind::kVaultLatency:
      return "vault_latency_spike";
    case FaultKind::kVaultDropConnection:
      return "vault_dropped_connections";
    case FaultKind::kVaultTokenExpiry:
      return "vault_token_expiry";
    case FaultKind::kVaultTokenRevoke:
      return "vault_token_revocation";
    case FaultKind::kKubeConflict:
      return "kube_409_conflicts";
    case FaultKind::kKube500:
      return "kube_500s";
    case FaultKind::kKube429:
      return "kube_429s";
    case FaultKind::kKubeWatchExpiry:
      return "kube_watch_expiry";
    case FaultKind::kKubeRestart:
      return "kube_apiserver_restart";
    case FaultKind::kControllerKill:
      return "controller_sigkill";
    case FaultKind::kLeaderChange:
      return "leader_sigterm";
    case FaultKind::kCsiProviderKill:
      return "csi_provider_sigkill";
  }
  return "unknown";
}

bool isProcessFault(FaultKind kind) {
  return kind == FaultKind::kControllerKill || kind == FaultKind::kLeaderChange ||
         kind == FaultKind::kCsiProviderKill;
}

std::vector<ScheduledFault> makeSchedule(const ScheduleOptions& options) {
  std::mt19937_64 rng(options.seed);
  std::vector<FaultKind> round;
  std::vector<ScheduledFault> schedule;
  milliseconds next_process_ok{0};
  for (milliseconds t = options.first_start; t < options.last_start;
       t += uniform(rng, options.min_gap.count(), options.max_gap.count())) {
    if (round.empty()) {
      for (int i = 0; i < kFaultKindCount; ++i) {
        round.push_back(static_cast<FaultKind>(i));
      }
      std::shuffle(round.begin(), round.end(), rng);
    }
    ScheduledFault fault = draw(round.back(), rng);
    round.pop_back();
    fault.start = t;
    if (isProcessFault(fault.kind)) {
      fault.start = std::max(t, next_process_ok);
      if (fault.start >= options.last_start) {
        continue;
      }
      next_process_ok = fault.start + fault.duration + options.process_fault_spacing;
    }
    schedule.push_back(fault);
  }
  std::stable_sort(
      schedule.begin(), schedule.end(),
      [](const ScheduledFault& a, const ScheduledFault& b) { return a.start < b.start; });
  return schedule;
}

std::chrono::milliseconds scheduleEnd(const std::vector<ScheduledFault>& schedule) {
  milliseconds end{0};
  for (const ScheduledFault& fault : schedule) {
    end = std::max(end, fault.start + fault.duration);
  }
  return end;
}

}  // namespace secretsync::soak
