#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "pkg/common/clock.h"

namespace secretsync::common {

// How long one real wait of waitUntil() lasts at most in production: client-go's delaying queue
// wakes up as often ("heartbeat") so that a missed notification can never stall it for long.
inline constexpr std::chrono::nanoseconds kDefaultMaxRealWait = std::chrono::seconds(10);

// Waits on `cv` (with `lock` held on its mutex) until `done()` is true or `clock` reaches
// `deadline`, whichever comes first.
//
// Why the extra `max_real_wait`: the wait itself is in real time, but the deadline is in `clock`'s
// time. With the real clock both agree and the wait ends on time. A test's ManualClock moves
// without notifying anyone; re-reading the clock at least every `max_real_wait` lets the waiting
// thread see such a move (tests pass about a millisecond). Whoever changes what `done()` reads
// must notify `cv` for a prompt wake-up.
//
// @return done() when the wait ended.
template <typename Done>
bool waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, const Clock& clock,
               MonotonicTime deadline, std::chrono::nanoseconds max_real_wait, Done done) {
  while (!done()) {
    const MonotonicTime now = clock.monotonicNow();
    if (now >= deadline) return false;
    const std::chrono::nanoseconds left =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
    cv.wait_for(lock, std::min(left, max_real_wait));
  }
  return true;
}

}  // namespace secretsync::common
