#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "pkg/common/clock.h"

namespace secretsync::common {

// A source of uniform doubles in [0, 1). Injected so tests can make jitter deterministic.
using UniformRandom = std::function<double()>;

// @return a uniform double in [0, 1) from a thread-local PRNG seeded from std::random_device.
// Thread-safe: each thread has its own generator, so there is no lock on the hot path.
double threadLocalUniform();

// Shape of an exponential backoff. The un-jittered delay of attempt n (0-based) is
// min(initial * multiplier^n, max); jitter then takes a uniformly chosen fraction of up to
// `jitter` off it, so the delay returned lies in [(1 - jitter) * d, d] and never exceeds `max`.
// Jitter spreads retries of many clients that failed at the same moment.
struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{30'000};
  // Growth per attempt; values below 1 are treated as 1.
  double multiplier = 2.0;
  // Fraction in [0, 1] of each delay that is randomised; clamped into that range.
  double jitter = 0.2;
};

// Jittered exponential backoff for one retry loop or one work-queue key.
//
// Thread-safety: not thread-safe; one Backoff belongs to one retry loop (or is guarded by the
// owner of the key it backs off). The injected UniformRandom is only called from next().
class Backoff {
 public:
  // @param random returns uniform doubles in [0, 1); defaults to threadLocalUniform.
  explicit Backoff(BackoffPolicy policy, UniformRandom random = threadLocalUniform);

  // @return the delay to wait before the next attempt, and counts the attempt.
  std::chrono::milliseconds next();

  // Forgets all attempts, so the next delay is `initial` again (after success).
  void reset() { attempts_ = 0; }

  // @return how many times next() was called since construction or the last reset().
  uint32_t attempts() const { return attempts_; }

  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  UniformRandom random_;
  uint32_t attempts_ = 0;
};

// Parses an HTTP Retry-After header value: delay-seconds ("120") or an HTTP-date in any of the
// three forms RFC 9110 requires recipients to accept (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
// RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6 08:49:37 1994").
// @param now wall time the date is measured from.
// @return the delay; a negative number of seconds or a date in the past gives zero; anything that
// is not one of those forms gives nullopt (the caller then uses its own backoff).
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, SystemTime now);

// As above, measured from `clock.now()`.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         const Clock& clock);

}  // namespace secretsync::common
