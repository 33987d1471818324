#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace secretsync::soak {

struct ProcessSample {
  std::chrono::milliseconds at{0};  // since the start of the run
  uint64_t rss_kb = 0;              // VmRSS
  uint64_t fds = 0;                 // entries of /proc/PID/fd
};

// Reads VmRSS from /proc/PID/status and counts /proc/PID/fd. The fd directory of a non-dumpable
// process belongs to root, so children must be started with core dumps allowed.
// @return NotFound when the process is gone, PermissionDenied when /proc/PID/fd is unreadable.
absl::StatusOr<ProcessSample> sampleProcess(pid_t pid, std::chrono::milliseconds at);

struct GrowthBounds {
  // Samples in the first `warmup_fraction` of a lifetime are ignored (caches filling, first
  // logins); the rest is split in thirds.
  double warmup_fraction = 0.25;
  double max_rss_growth = 0.5;  // mean RSS of the last third / first third - 1
  uint64_t max_fd_growth = 20;  // max fds of the last third - max of the first third
  // Fewer samples after warm-up than this: the lifetime is too short to judge (not checked).
  size_t min_samples = 30;
};

// The samples of one process lifetime (one pid) and the leak check over them.
//
// Thread-safety: not thread-safe; the soak's main loop owns it.
class ProcessStats {
 public:
  explicit ProcessStats(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  void add(const ProcessSample& sample) { samples_.push_back(sample); }
  const std::vector<ProcessSample>& samples() const { return samples_; }
  uint64_t peakRssKb() const;
  uint64_t peakFds() const;

  // @return whether enough samples were taken for checkFlat() to judge.
  bool judged(const GrowthBounds& bounds) const;
  // @return OK when memory and fds stay within `bounds` (or too few samples to judge);
  // FailedPrecondition naming the process and the figures otherwise.
  absl::Status checkFlat(const GrowthBounds& bounds) const;

 private:
  std::string name_;
  std::vector<ProcessSample> samples_;
};

}  // namespace secretsync::soak
