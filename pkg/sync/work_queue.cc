#include "pkg/sync/work_queue.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace secretsync::sync {
namespace {

using Seconds = std::chrono::duration<double>;

}  // namespace

WorkQueue::WorkQueue(common::Clock& clock, WorkQueueOptions options)
    : clock_(clock), options_(std::move(options)) {
  if (options_.overall_qps > 0) {
    bucket_.emplace(options_.overall_qps, options_.overall_burst, clock_.monotonicNow());
  }
  delay_thread_ = std::thread([this] { delayLoop(); });
}

WorkQueue::~WorkQueue() { shutDown(); }

std::list<std::string>& WorkQueue::listFor(Priority priority) {
  return priority == Priority::kHigh ? high_ : normal_;
}

int64_t WorkQueue::depthLocked() const {
  return static_cast<int64_t>(high_.size() + normal_.size());
}

void WorkQueue::reportDepthLocked() {
  if (options_.observer != nullptr) options_.observer->onDepth(depthLocked());
}

void WorkQueue::pushLocked(const std::string& key, Ready& ready) {
  std::list<std::string>& list = listFor(ready.priority);
  ready.list = &list;
  ready.it = list.insert(list.end(), key);
  reportDepthLocked();
  ready_cv_.notify_one();
}

void WorkQueue::addLocked(const std::string& key, Priority priority) {
  const auto found = dirty_.find(key);
  if (found != dirty_.end()) {
    Ready& ready = found->second;
    if (priority == Priority::kHigh && ready.priority == Priority::kNormal) {
      ready.priority = Priority::kHigh;
      // Still queued: move it up. While processing it is re-queued with the new priority.
      if (ready.list != nullptr) {
        ready.list->erase(ready.it);
        pushLocked(key, ready);
      }
    }
    return;
  }
  if (options_.observer != nullptr) options_.observer->onAdd();
  Ready& ready = dirty_[key];
  ready.priority = priority;
  ready.added = clock_.monotonicNow();
  // A key being processed waits in the dirty set; done() queues it, so no second worker gets it.
  if (processing_.count(key) == 0) pushLocked(key, ready);
}

void WorkQueue::add(const std::string& key, Priority priority) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  addLocked(key, priority);
}

void WorkQueue::addAfter(const std::string& key, std::chrono::nanoseconds delay,
                         Priority priority) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (delay <= std::chrono::nanoseconds::zero()) {
    addLocked(key, priority);
    return;
  }
  const common::MonotonicTime ready_at = clock_.monotonicNow() + delay;
  auto [it, inserted] = waiting_.try_emplace(key, WaitingInfo{ready_at, priority});
  if (!inserted) {
    if (priority == Priority::kHigh) it->second.priority = Priority::kHigh;
    // The earlier time wins; a later one changes nothing.
    if (ready_at >= it->second.ready_at) return;
    it->second.ready_at = ready_at;
  }
  heap_.push(Waiting{ready_at, seq_++, key});
  waiting_cv_.notify_one();
}

void WorkQueue::addRateLimited(const std::string& key) {
  std::chrono::nanoseconds delay;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    if (options_.observer != nullptr) options_.observer->onRetry();
    auto it = backoff_.try_emplace(key, options_.backoff).first;
    delay = it->second.next();
    if (bucket_) delay = std::max(delay, bucket_->reserve(clock_.monotonicNow()));
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  backoff_.erase(key);
}

int WorkQueue::numRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = backoff_.find(key);
  return it == backoff_.end() ? 0 : static_cast<int>(it->second.attempts());
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  ready_cv_.wait(lock, [this] { return shutting_down_ || !high_.empty() || !normal_.empty(); });
  if (shutting_down_) return std::nullopt;
  std::list<std::string>& list = high_.empty() ? normal_ : high_;
  std::string key = std::move(list.front());
  list.pop_front();
  const common::MonotonicTime now = clock_.monotonicNow();
  const auto found = dirty_.find(key);
  const common::MonotonicTime added = found != dirty_.end() ? found->second.added : now;
  if (found != dirty_.end()) dirty_.erase(found);
  processing_[key] = now;
  if (options_.observer != nullptr) {
    options_.observer->onQueueLatency(Seconds(now - added));
    options_.observer->onDepth(depthLocked());
  }
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  const auto found = processing_.find(key);
  if (found == processing_.end()) return;
  const common::MonotonicTime now = clock_.monotonicNow();
  if (options_.observer != nullptr) options_.observer->onWorkDuration(Seconds(now - found->second));
  processing_.erase(found);
  const auto dirty = dirty_.find(key);
  if (dirty != dirty_.end() && dirty->second.list == nullptr && !shutting_down_) {
    dirty->second.added = now;
    pushLocked(key, dirty->second);
  }
}

std::optional<common::MonotonicTime> WorkQueue::promoteDueLocked() {
  const common::MonotonicTime now = clock_.monotonicNow();
  while (!heap_.empty()) {
    const Waiting& top = heap_.top();
    const auto info = waiting_.find(top.key);
    if (info == waiting_.end() || info->second.ready_at != top.ready_at) {
      heap_.pop();  // superseded by an earlier time, or already added
      continue;
    }
    if (top.ready_at > now) return top.ready_at;
    const Priority priority = info->second.priority;
    const std::string key = top.key;
    waiting_.erase(info);
    heap_.pop();
    addLocked(key, priority);
  }
  return std::nullopt;
}

void WorkQueue::delayLoop() {
  std::unique_lock lock(mu_);
  while (!shutting_down_) {
    const std::optional<common::MonotonicTime> next = promoteDueLocked();
    const uint64_t seen = seq_;
    common::waitUntil(waiting_cv_, lock, clock_, next.value_or(common::MonotonicTime::max()),
                      options_.max_real_wait, [&] { return shutting_down_ || seq_ != seen; });
  }
}

void WorkQueue::shutDown() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
  }
  ready_cv_.notify_all();
  waiting_cv_.notify_all();
  // One joiner: shutDown() may race with itself (a signal handler thread and the destructor).
  std::lock_guard join_lock(join_mu_);
  if (delay_thread_.joinable()) delay_thread_.join();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

int64_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return depthLocked();
}

WorkQueueStats WorkQueue::stats() const {
  std::lock_guard lock(mu_);
  WorkQueueStats stats;
  stats.depth = depthLocked();
  stats.waiting = static_cast<int64_t>(waiting_.size());
  stats.processing = static_cast<int64_t>(processing_.size());
  const common::MonotonicTime now = clock_.monotonicNow();
  for (const auto& [key, started] : processing_) {
    const double seconds = Seconds(now - started).count();
    stats.unfinished_work_seconds += seconds;
    stats.longest_running_processor_seconds =
        std::max(stats.longest_running_processor_seconds, seconds);
  }
  return stats;
}

std::chrono::nanoseconds jitteredRefresh(std::chrono::nanoseconds interval, std::string_view key,
                                         double spread, const common::UniformRandom& random) {
  if (interval <= std::chrono::nanoseconds::zero()) return interval;
  spread = std::isnan(spread) ? 0.0 : std::clamp(spread, 0.0, 1.0);
  // FNV-1a: stable across processes and builds, unlike std::hash or absl::Hash (seeded).
  uint64_t hash = 14695981039346656037ull;
  for (const char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  const double per_key = static_cast<double>(hash >> 11) * 0x1.0p-53;  // [0, 1)
  const double drawn = random();
  const double noise = std::isnan(drawn) ? 0.0 : std::clamp(drawn, 0.0, 1.0);
  const double early = spread * (0.75 * per_key + 0.25 * noise);
  return interval - std::chrono::nanoseconds(
                        static_cast<int64_t>(static_cast<double>(interval.count()) * early));
}

}  // namespace secretsync::sync
