#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "pkg/common/backoff.h"
#include "pkg/common/clock.h"
#include "pkg/common/clock_wait.h"
#include "pkg/common/token_bucket.h"

namespace secretsync::sync {

// How urgent a key is. Objects never synced yet go before routine refreshes, so a new
// ExternalSecret does not wait behind 100k periodic re-reads (controller-runtime's priority queue
// gives new objects a higher priority for the same reason).
enum class Priority { kNormal, kHigh };

// What the queue reports for controller-runtime's workqueue_* metrics (name label = the queue's
// name): workqueue_depth, workqueue_adds_total, workqueue_retries_total,
// workqueue_queue_duration_seconds, workqueue_work_duration_seconds. The two gauges
// workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds are read with
// WorkQueue::stats() when scraped.
//
// Thread-safety: the queue calls these with its lock held, from any thread that adds, gets or
// finishes keys: implementations must be thread-safe, quick (a Prometheus counter or histogram)
// and must not call back into the queue.
class WorkQueueObserver {
 public:
  virtual ~WorkQueueObserver() = default;

  // The number of keys waiting to be handed out changed to `depth`.
  virtual void onDepth(int64_t depth) = 0;
  // A key was added that was not already waiting (dedup'd adds are not counted, as client-go).
  virtual void onAdd() = 0;
  // addRateLimited() was called: a retry after a failure.
  virtual void onRetry() = 0;
  // A key was handed out by get() after waiting `latency` in the queue.
  virtual void onQueueLatency(std::chrono::duration<double> latency) = 0;
  // done() was called `duration` after the key was handed out.
  virtual void onWorkDuration(std::chrono::duration<double> duration) = 0;
};

// The queue's gauges at one moment.
struct WorkQueueStats {
  int64_t depth = 0;       // keys ready to be handed out
  int64_t waiting = 0;     // keys waiting for a delay (addAfter / addRateLimited)
  int64_t processing = 0;  // keys handed out and not done
  // Sum over processing keys of how long each has run (workqueue_unfinished_work_seconds).
  double unfinished_work_seconds = 0;
  // The longest running processing key's time (workqueue_longest_running_processor_seconds).
  double longest_running_processor_seconds = 0;
};

struct WorkQueueOptions {
  // Per-key exponential backoff of addRateLimited(): 5 ms × 2^failures, capped at 1000 s, as
  // controller-runtime's default ItemExponentialFailureRateLimiter (no jitter: the delay is exact).
  common::BackoffPolicy backoff{.initial = std::chrono::milliseconds(5),
                                .max = std::chrono::milliseconds(1000 * 1000),
                                .multiplier = 2.0,
                                .jitter = 0.0};
  // Overall token bucket of addRateLimited(), as the default controller rate limiter's 10 qps
  // burst 100; the delay is the larger of the two. qps ≤ 0 turns the bucket off.
  double overall_qps = 10;
  double overall_burst = 100;
  // Upper bound on one real-time wait of the delay thread (see common::waitUntil): tests with a
  // ManualClock pass about a millisecond so a moved clock is noticed.
  std::chrono::nanoseconds max_real_wait = common::kDefaultMaxRealWait;
  // Optional metrics; must outlive the queue.
  WorkQueueObserver* observer = nullptr;
};

// A controller-runtime-style rate-limited work queue of string keys ("namespace/name"):
//  - dedup: a key added while it waits is queued once ("dirty" set); a key added while it is
//    being processed is queued again when done() is called for it ("processing" set), so one key
//    is never handed to two workers at once;
//  - priority: kHigh keys are handed out before kNormal ones, FIFO within each; adding a waiting
//    key again with kHigh moves it up;
//  - addAfter(key, delay): a delay thread adds the key when the delay has passed; a key waiting
//    twice keeps the earlier time (client-go's waitingForQueue);
//  - addRateLimited/forget/numRequeues: per-key exponential backoff plus an overall bucket;
//  - shutDown(): get() returns nullopt at once in every caller, later adds are ignored.
//
// Difference from client-go: after shutDown() get() does not hand out what is still queued. The
// controller is level-triggered, so nothing is lost: whoever starts next lists every object again.
//
// Time comes from the injected Clock: delays and metrics durations use monotonicNow().
//
// Thread-safety: all methods are thread-safe. One mutex guards the state; get() blocks on a
// condition variable; one delay thread (started by the constructor, joined by shutDown() or the
// destructor) moves due keys into the queue.
class WorkQueue {
 public:
  explicit WorkQueue(common::Clock& clock, WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it already waits (then only its priority may rise).
  void add(const std::string& key, Priority priority = Priority::kNormal);
  // add(key, Priority::kHigh): for objects never synced.
  void addFirst(const std::string& key) { add(key, Priority::kHigh); }
  // Queues `key` after `delay` of the clock's time (at once when delay ≤ 0). When the key already
  // waits for a delay, the earlier time wins.
  void addAfter(const std::string& key, std::chrono::nanoseconds delay,
                Priority priority = Priority::kNormal);
  // Queues `key` after its next backoff delay (and the overall bucket's): call after a failure.
  void addRateLimited(const std::string& key);
  // Resets the key's backoff: call after success (controller-runtime's Forget). Does not remove
  // the key from the queue.
  void forget(const std::string& key);
  // @return how many times addRateLimited() was called for `key` since the last forget().
  int numRequeues(const std::string& key) const;

  // Blocks until a key is ready or the queue shuts down.
  // @return the key, which the caller owns until done(key); nullopt after shutDown().
  std::optional<std::string> get();
  // Marks the key returned by get() as processed; re-queues it if it was added meanwhile.
  void done(const std::string& key);

  // Stops the queue: wakes every get() with nullopt and joins the delay thread. Idempotent.
  void shutDown();
  bool shuttingDown() const;

  // @return keys ready to be handed out (workqueue_depth).
  int64_t len() const;
  WorkQueueStats stats() const;

 private:
  struct Ready {
    std::list<std::string>* list = nullptr;  // nullptr while processing (re-queued on done())
    std::list<std::string>::iterator it;
    Priority priority = Priority::kNormal;
    common::MonotonicTime added;
  };
  struct Waiting {
    common::MonotonicTime ready_at;
    uint64_t seq = 0;  // FIFO among keys with the same time
    std::string key;
    bool operator>(const Waiting& other) const {
      return ready_at != other.ready_at ? ready_at > other.ready_at : seq > other.seq;
    }
  };
  struct WaitingInfo {
    common::MonotonicTime ready_at;
    Priority priority = Priority::kNormal;
  };

  void addLocked(const std::string& key, Priority priority) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void pushLocked(const std::string& key, Ready& ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::list<std::string>& listFor(Priority priority) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t depthLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void reportDepthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves due keys from the waiting heap into the queue. @return the next due time, if any.
  std::optional<common::MonotonicTime> promoteDueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void delayLoop();

  common::Clock& clock_;
  const WorkQueueOptions options_;

  mutable std::mutex mu_;
  // Signalled when keys become ready and on shutdown: get() waits on it.
  std::condition_variable ready_cv_;
  // Signalled when an earlier delay arrives and on shutdown: the delay thread waits on it.
  std::condition_variable waiting_cv_;
  std::list<std::string> high_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> normal_ ABSL_GUARDED_BY(mu_);
  // The dirty set: keys that need processing, whether queued or (list == nullptr) processing.
  std::unordered_map<std::string, Ready> dirty_ ABSL_GUARDED_BY(mu_);
  // Keys handed out by get(), with when.
  std::unordered_map<std::string, common::MonotonicTime> processing_ ABSL_GUARDED_BY(mu_);
  // Delayed keys: a min-heap with lazy deletion (an entry whose time differs from waiting_'s is
  // stale) and the authoritative time per key.
  std::priority_queue<Waiting, std::vector<Waiting>, std::greater<>> heap_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, WaitingInfo> waiting_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, common::Backoff> backoff_ ABSL_GUARDED_BY(mu_);
  std::optional<common::TokenBucket> bucket_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::mutex join_mu_;
  std::thread delay_thread_ ABSL_GUARDED_BY(join_mu_);
};

// The delay before the next routine refresh of `key`, for an object whose refresh interval is
// `interval`: never later than `interval` (a refreshInterval is a promise about staleness) and at
// most `spread` × interval earlier.
//
// Why: 100k objects created together with one interval would otherwise refresh together forever.
// The early part has a deterministic per-key share (a stable hash of the key: each key gets its
// own slightly shorter period, so keys drift apart and their phases spread over the whole interval
// after about 1/spread periods, and a restart keeps them spread) and a random share (breaks ties
// between keys and between processes). 3/4 of the spread is per-key, 1/4 random.
//
// @param spread fraction in [0, 1], clamped; 0.1 by default.
// @param random uniform doubles in [0, 1) (injectable for tests).
std::chrono::nanoseconds jitteredRefresh(
    std::chrono::nanoseconds interval, std::string_view key, double spread = 0.1,
    const common::UniformRandom& random = common::threadLocalUniform);

}  // namespace secretsync::sync
