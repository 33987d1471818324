#include "pkg/sync/work_queue.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "test/support/manual_clock.h"

namespace secretsync::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Counts what the queue reports for the workqueue_* metrics.
class RecordingObserver final : public WorkQueueObserver {
 public:
  void onDepth(int64_t depth) override { depth_ = depth; }
  void onAdd() override { ++adds_; }
  void onRetry() override { ++retries_; }
  void onQueueLatency(std::chrono::duration<double> latency) override {
    latencies_.push_back(latency.count());
  }
  void onWorkDuration(std::chrono::duration<double> duration) override {
    durations_.push_back(duration.count());
  }

  std::atomic<int64_t> depth_{0};
  std::atomic<int> adds_{0};
  std::atomic<int> retries_{0};
  std::vector<double> latencies_;
  std::vector<double> durations_;
};

class WorkQueueTest : public ::testing::Test {
 protected:
  // A queue on the manual clock, without the overall bucket unless a test sets it.
  WorkQueueOptions options(WorkQueueObserver* observer = nullptr) {
    WorkQueueOptions o;
    o.overall_qps = 0;
    o.max_real_wait = milliseconds(1);
    o.observer = observer;
    return o;
  }

  // Proves that everything due up to now was moved into the queue: a probe due now is handed
  // out only after the delay thread's pass over the heap at (or after) this clock time, and that
  // pass moves every earlier-due key first. The probe must be the only ready key.
  void drainProbe(WorkQueue& queue) {
    queue.addAfter("probe", std::chrono::nanoseconds(1));
    clock_.advance(std::chrono::nanoseconds(1));
    auto key = queue.get();
    ASSERT_TRUE(key.has_value());
    ASSERT_EQ(*key, "probe");
    queue.done("probe");
  }

  test::ManualClock clock_;
};

// A key added while it waits is handed out once.
TEST_F(WorkQueueTest, DedupsWaitingKeys) {
  WorkQueue queue(clock_, options());
  queue.add("a");
  queue.add("b");
  queue.add("a");
  EXPECT_EQ(queue.len(), 2);
  EXPECT_EQ(queue.get(), "a");
  EXPECT_EQ(queue.get(), "b");
  EXPECT_EQ(queue.len(), 0);
}

// A key added while being processed is queued again only after done().
TEST_F(WorkQueueTest, AddWhileProcessingRequeuesAfterDone) {
  WorkQueue queue(clock_, options());
  queue.add("a");
  ASSERT_EQ(queue.get(), "a");
  queue.add("a");
  queue.add("a");
  EXPECT_EQ(queue.len(), 0);
  queue.done("a");
  EXPECT_EQ(queue.len(), 1);
  EXPECT_EQ(queue.get(), "a");
  queue.done("a");
  EXPECT_EQ(queue.len(), 0);
}

// Many workers and a busy producer: no key is ever held by two workers at once, and every key
// added is processed after its last add.
TEST_F(WorkQueueTest, NeverProcessesOneKeyConcurrently) {
  WorkQueue queue(common::realClock(), options());
  std::mutex mu;
  std::set<std::string> in_flight;
  std::atomic<int> overlaps{0};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = queue.get()) {
        {
          std::lock_guard lock(mu);
          if (!in_flight.insert(*key).second) ++overlaps;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mu);
          in_flight.erase(*key);
        }
        ++processed;
        queue.done(*key);
      }
    });
  }
  for (int i = 0; i < 20000; ++i) queue.add("k" + std::to_string(i % 7));
  while (queue.len() > 0 || queue.stats().processing > 0) std::this_thread::yield();
  queue.shutDown();
  for (auto& t : workers) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(processed.load(), 7);
  EXPECT_LE(processed.load(), 20000);
}

// Failures back off 5 ms, 10 ms, 20 ms ...; forget() starts again at 5 ms.
TEST_F(WorkQueueTest, RateLimitedBackoffGrowsAndForgetResets) {
  WorkQueue queue(clock_, options());
  for (int failures = 0; failures < 5; ++failures) {
    const milliseconds delay(5 << failures);
    queue.addRateLimited("k");
    EXPECT_EQ(queue.numRequeues("k"), failures + 1);
    clock_.advance(delay - milliseconds(1));
    drainProbe(queue);
    EXPECT_EQ(queue.len(), 0) << "ready before " << delay.count() << " ms";
    clock_.advance(milliseconds(1));
    EXPECT_EQ(queue.get(), "k");
    queue.done("k");
  }
  queue.forget("k");
  EXPECT_EQ(queue.numRequeues("k"), 0);
  queue.addRateLimited("k");
  clock_.advance(milliseconds(5));
  EXPECT_EQ(queue.get(), "k");
}

// The per-key delay stops growing at the policy's cap.
TEST_F(WorkQueueTest, BackoffIsCapped) {
  WorkQueueOptions o = options();
  o.backoff.max = milliseconds(20);
  WorkQueue queue(clock_, o);
  for (int i = 0; i < 6; ++i) {
    queue.addRateLimited("k");
    clock_.advance(milliseconds(20));
    EXPECT_EQ(queue.get(), "k");
    queue.done("k");
  }
  EXPECT_EQ(queue.numRequeues("k"), 6);
}

// The defaults are controller-runtime's: 5 ms doubling to 1000 s, and a 10 qps / 100 bucket.
TEST_F(WorkQueueTest, DefaultsMatchControllerRuntime) {
  const WorkQueueOptions defaults;
  EXPECT_EQ(defaults.backoff.initial, milliseconds(5));
  EXPECT_EQ(defaults.backoff.max, seconds(1000));
  EXPECT_EQ(defaults.backoff.multiplier, 2.0);
  EXPECT_EQ(defaults.backoff.jitter, 0.0);
  EXPECT_EQ(defaults.overall_qps, 10);
  EXPECT_EQ(defaults.overall_burst, 100);
}

// With the overall bucket empty, a first failure of another key still waits for a token.
TEST_F(WorkQueueTest, OverallBucketDelaysRetries) {
  WorkQueueOptions o = options();
  o.overall_qps = 10;
  o.overall_burst = 1;
  WorkQueue queue(clock_, o);
  queue.addRateLimited("a");  // the bucket's one token: 5 ms backoff
  queue.addRateLimited("b");  // no token: 100 ms
  clock_.advance(milliseconds(5));
  EXPECT_EQ(queue.get(), "a");
  queue.done("a");
  clock_.advance(milliseconds(94));
  drainProbe(queue);
  EXPECT_EQ(queue.len(), 0);
  clock_.advance(milliseconds(1));
  EXPECT_EQ(queue.get(), "b");
}

// Delayed keys come out in due order; a key delayed twice keeps the earlier time, once.
TEST_F(WorkQueueTest, AddAfterOrdersByDueTimeAndEarliestWins) {
  WorkQueue queue(clock_, options());
  queue.addAfter("late", milliseconds(30));
  queue.addAfter("early", milliseconds(10));
  queue.addAfter("middle", milliseconds(20));
  queue.addAfter("twice", milliseconds(50));
  queue.addAfter("twice", milliseconds(15));
  queue.addAfter("twice", milliseconds(100));
  EXPECT_EQ(queue.stats().waiting, 4);
  clock_.advance(milliseconds(200));
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto key = queue.get();
    ASSERT_TRUE(key.has_value());
    order.push_back(*key);
    queue.done(*key);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"early", "twice", "middle", "late"}));
  drainProbe(queue);
  EXPECT_EQ(queue.len(), 0);
  EXPECT_EQ(queue.stats().waiting, 0);
}

// A zero delay adds at once.
TEST_F(WorkQueueTest, AddAfterZeroAddsNow) {
  WorkQueue queue(clock_, options());
  queue.addAfter("a", milliseconds(0));
  EXPECT_EQ(queue.len(), 1);
}

// High-priority keys (never synced) are served before routine ones; re-adding a waiting key
// with high priority moves it up.
TEST_F(WorkQueueTest, HighPriorityFirst) {
  WorkQueue queue(clock_, options());
  queue.add("n1");
  queue.add("n2");
  queue.addFirst("h1");
  queue.add("n3");
  queue.add("h2", Priority::kHigh);
  queue.addFirst("n3");
  std::vector<std::string> order;
  while (queue.len() > 0) order.push_back(*queue.get());
  EXPECT_EQ(order, (std::vector<std::string>{"h1", "h2", "n3", "n1", "n2"}));
}

// A key raised to high priority while processing is re-queued with it.
TEST_F(WorkQueueTest, PriorityKeptForKeyAddedWhileProcessing) {
  WorkQueue queue(clock_, options());
  queue.add("a");
  ASSERT_EQ(queue.get(), "a");
  queue.add("b");
  queue.addFirst("a");
  queue.done("a");
  EXPECT_EQ(queue.get(), "a");
  EXPECT_EQ(queue.get(), "b");
}

// Delayed high-priority keys keep their priority when they become due.
TEST_F(WorkQueueTest, DelayedHighPriority) {
  WorkQueue queue(clock_, options());
  queue.add("normal");
  queue.addAfter("urgent", milliseconds(1), Priority::kHigh);
  clock_.advance(milliseconds(1));
  while (queue.len() < 2) std::this_thread::yield();
  EXPECT_EQ(queue.get(), "urgent");
  EXPECT_EQ(queue.get(), "normal");
}

// shutDown() wakes every blocked get() with nullopt; later adds are ignored.
TEST_F(WorkQueueTest, ShutDownWakesGetters) {
  WorkQueue queue(clock_, options());
  std::atomic<int> woken{0};
  std::vector<std::thread> getters;
  for (int i = 0; i < 3; ++i) {
    getters.emplace_back([&] {
      if (!queue.get().has_value()) ++woken;
    });
  }
  queue.shutDown();
  for (auto& t : getters) t.join();
  EXPECT_EQ(woken.load(), 3);
  EXPECT_TRUE(queue.shuttingDown());
  queue.add("late");
  queue.addAfter("later", milliseconds(1));
  EXPECT_EQ(queue.len(), 0);
  EXPECT_FALSE(queue.get().has_value());
  queue.shutDown();  // idempotent
}

// The observer sees adds, retries, depth, queue latency and work duration; stats() reports the
// unfinished work gauges.
TEST_F(WorkQueueTest, ReportsMetrics) {
  RecordingObserver observer;
  WorkQueue queue(clock_, options(&observer));
  queue.add("a");
  queue.add("a");
  queue.add("b");
  EXPECT_EQ(observer.adds_.load(), 2);
  EXPECT_EQ(observer.depth_.load(), 2);
  clock_.advance(seconds(3));
  ASSERT_EQ(queue.get(), "a");
  EXPECT_EQ(observer.depth_.load(), 1);
  ASSERT_EQ(observer.latencies_.size(), 1u);
  EXPECT_DOUBLE_EQ(observer.latencies_[0], 3.0);
  clock_.advance(seconds(1));
  ASSERT_EQ(queue.get(), "b");
  clock_.advance(seconds(1));
  WorkQueueStats stats = queue.stats();
  EXPECT_EQ(stats.processing, 2);
  EXPECT_DOUBLE_EQ(stats.unfinished_work_seconds, 2.0 + 1.0);
  EXPECT_DOUBLE_EQ(stats.longest_running_processor_seconds, 2.0);
  queue.done("a");
  ASSERT_EQ(observer.durations_.size(), 1u);
  EXPECT_DOUBLE_EQ(observer.durations_[0], 2.0);
  queue.addRateLimited("a");
  EXPECT_EQ(observer.retries_.load(), 1);
}

// Refresh delays stay within [interval × (1 − spread), interval], are stable per key for a fixed
// random draw, and spread different keys over that window.
TEST(JitteredRefreshTest, SpreadsKeysWithinWindow) {
  const auto interval = std::chrono::nanoseconds(seconds(3600));
  const auto zero = [] { return 0.0; };
  EXPECT_EQ(jitteredRefresh(interval, "ns/a", 0.1, zero),
            jitteredRefresh(interval, "ns/a", 0.1, zero));
  EXPECT_EQ(jitteredRefresh(interval, "ns/a", 0.0, zero), interval);
  std::set<int64_t> distinct;
  auto lowest = interval;
  auto highest = std::chrono::nanoseconds(0);
  for (int i = 0; i < 1000; ++i) {
    const auto almost_one = [] { return 0.999999; };
    const auto d = jitteredRefresh(interval, "ns/object-" + std::to_string(i), 0.1,
                                   i % 2 == 0 ? common::UniformRandom(zero) : almost_one);
    ASSERT_LE(d, interval);
    ASSERT_GE(d, interval - interval / 10);
    distinct.insert(d.count());
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  EXPECT_GT(distinct.size(), 990u);
  // The keys cover most of the 360 s window, not one spot of it.
  EXPECT_LT(lowest, interval - seconds(300));
  EXPECT_GT(highest, interval - seconds(60));
  EXPECT_EQ(jitteredRefresh(std::chrono::nanoseconds(0), "k"), std::chrono::nanoseconds(0));
}

}  // namespace
}  // namespace secretsync::sync
