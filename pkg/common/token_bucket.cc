#include "pkg/common/token_bucket.h"

#include <algorithm>

namespace secretsync::common {

TokenBucket::TokenBucket(double rate, double burst, MonotonicTime now)
    : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

void TokenBucket::refill(MonotonicTime now) {
  // A clock that went backwards (it must not, but a test may) adds nothing.
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  if (rate_ > 0) tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  last_ = now;
}

bool TokenBucket::tryTake(MonotonicTime now) {
  refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

std::chrono::nanoseconds TokenBucket::reserve(MonotonicTime now) {
  refill(now);
  tokens_ -= 1.0;
  if (tokens_ >= 0.0) return std::chrono::nanoseconds(0);
  if (rate_ <= 0) return std::chrono::nanoseconds::max();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(-tokens_ / rate_));
}

double TokenBucket::available(MonotonicTime now) {
  refill(now);
  return tokens_;
}

}  // namespace secretsync::common
