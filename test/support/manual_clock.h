#pragma once

#include <condition_variable>
#include <mutex>

#include "pkg/common/clock.h"

namespace secretsync::test {

// A Clock that moves only when told to. sleepFor() advances it at once instead of blocking, so
// code that waits (backoff, Retry-After) runs instantly while its waits are still observable.
//
// Thread-safety: all methods are safe from any thread.
class ManualClock final : public common::Clock {
 public:
  common::SystemTime now() const override {
    std::lock_guard lock(mu_);
    return system_;
  }
  common::MonotonicTime monotonicNow() const override {
    std::lock_guard lock(mu_);
    return monotonic_;
  }
  void sleepFor(std::chrono::nanoseconds duration) override {
    std::lock_guard lock(mu_);
    slept_ += duration;
    system_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(duration);
    monotonic_ += duration;
  }

  // Moves both clocks forward by `duration`.
  void advance(std::chrono::nanoseconds duration) {
    std::lock_guard lock(mu_);
    system_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(duration);
    monotonic_ += duration;
  }

  // @return the total time passed to sleepFor().
  std::chrono::nanoseconds totalSlept() const {
    std::lock_guard lock(mu_);
    return slept_;
  }

 private:
  mutable std::mutex mu_;
  // Starts at a fixed, realistic wall time so formatted timestamps are stable.
  common::SystemTime system_ = common::SystemTime(std::chrono::seconds(1'800'000'000));
  common::MonotonicTime monotonic_ = common::MonotonicTime(std::chrono::hours(1));
  std::chrono::nanoseconds slept_{0};
};

}  // namespace secretsync::test
