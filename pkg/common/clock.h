#pragma once

#include <chrono>
#include <memory>

namespace secretsync::common {

using SystemTime = std::chrono::system_clock::time_point;
using MonotonicTime = std::chrono::steady_clock::time_point;

// Time source. Everything that waits or expires takes a Clock& so tests can drive time by hand
// (test/support/manual_clock.h) instead of sleeping.
//
// Thread-safety: implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;

  // @return wall-clock time, for timestamps that leave the process.
  virtual SystemTime now() const = 0;

  // @return monotonic time, for every deadline and TTL computed inside the process.
  virtual MonotonicTime monotonicNow() const = 0;

  // Blocks the calling thread for `duration` of this clock's time.
  virtual void sleepFor(std::chrono::nanoseconds duration) = 0;
};

// The process clock: std::chrono's system and steady clocks and a real sleep.
Clock& realClock();

}  // namespace secretsync::common
