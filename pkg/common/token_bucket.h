#pragma once

#include <chrono>

#include "pkg/common/clock.h"

namespace secretsync::common {

// A token bucket as golang.org/x/time/rate.Limiter, which client-go uses for the work queue's
// overall limit (BucketRateLimiter) and the event recorder's per-object spam filter: it holds at
// most `burst` tokens, starts full, and refills `rate` tokens per second.
//
// Thread-safety: not thread-safe; the owner guards it. Time is passed in, so the owner's Clock
// (a ManualClock in tests) decides how fast it refills.
class TokenBucket {
 public:
  // @param rate tokens per second (values ≤ 0 never refill); @param burst capacity, at least 1.
  TokenBucket(double rate, double burst, MonotonicTime now);

  // Takes one token when one is available (the spam filter's TryAccept).
  // @return whether a token was taken.
  bool tryTake(MonotonicTime now);

  // Takes one token now or in the future (rate.Limiter's Reserve): the bucket may go into debt.
  // @return how long the caller must wait before its token exists (zero when it exists now).
  std::chrono::nanoseconds reserve(MonotonicTime now);

  // @return the tokens available at `now` (may be negative after reserve()).
  double available(MonotonicTime now);

 private:
  void refill(MonotonicTime now);

  double rate_;
  double burst_;
  double tokens_;
  MonotonicTime last_;
};

}  // namespace secretsync::common
