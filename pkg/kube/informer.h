#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "pkg/common/backoff.h"
#include "pkg/common/clock.h"
#include "pkg/common/clock_wait.h"
#include "pkg/kube/kube_client.h"
#include "pkg/kube/resource.h"

namespace secretsync::kube {

// A cached object; shared so that readers of the cache never copy it.
using ObjectPtr = std::shared_ptr<const nlohmann::json>;

// What the informer watches and how it recovers (kubernetes-api.md §2.5, client-go's Reflector).
struct InformerOptions {
  Resource resource;
  // "" = all namespaces (or a cluster-scoped kind).
  std::string namespace_name;
  std::string label_selector;
  std::string field_selector;
  // Page size of lists (client-go's pager: 500).
  int64_t page_size = 500;
  // Between failed list/watch cycles: 800 ms × 2 up to 30 s, full jitter; forgotten after
  // `backoff_reset_after` without trouble.
  common::BackoffPolicy backoff{std::chrono::milliseconds(800), std::chrono::milliseconds(30'000),
                                2.0, 1.0};
  std::chrono::milliseconds backoff_reset_after{std::chrono::minutes(2)};
  // Each watch asks the server for a timeout drawn from [min_watch_timeout, 2 × min).
  std::chrono::seconds min_watch_timeout{300};
  // Jitter source in [0, 1).
  common::UniformRandom random = common::threadLocalUniform;
  // Time of backoff waits and of the backoff reset; null = the real clock. Must outlive the
  // informer. A wait is in real time but re-reads the clock every `max_real_wait`, so a test's
  // ManualClock (with about a millisecond here) ends it by advancing.
  common::Clock* clock = nullptr;
  std::chrono::nanoseconds max_real_wait = common::kDefaultMaxRealWait;
};

// Called on the informer's thread, one at a time, never for bookmarks, with no lock held (a
// handler may read the cache). Each may be empty.
struct InformerHandlers {
  std::function<void(const nlohmann::json& object)> on_add;
  std::function<void(const nlohmann::json& old_object, const nlohmann::json& new_object)> on_update;
  // The last state the informer knew (after a relist, the state before the object went away).
  std::function<void(const nlohmann::json& object)> on_delete;
};

// Keeps a local cache of one resource in step with the API server, as client-go's Reflector:
// list (paginated, resourceVersion "0" first, served from the server's cache), replace the cache
// (objects gone since produce deletes; objects with an unchanged resourceVersion produce nothing),
// then watch from the list's version with bookmarks and a random 5–10 min timeout. A watch that
// ends normally is resumed from the last version seen, without a list. A 410 (HTTP or an ERROR
// event) relists "not older than" the last version, and with a consistent read ("") if that
// also gets 410. 429, 5xx and transport errors on a watch watch again after a backoff; other
// errors relist after a backoff.
//
// Thread-safety: get(), list(), hasSynced(), waitForSync() and lastResourceVersion() may be
// called from any thread, handlers included. start() and stop() from one owner thread. The
// destructor stops the informer and joins its thread.
class Informer {
 public:
  // `client` must outlive the informer.
  Informer(KubeClient& client, InformerOptions options, InformerHandlers handlers);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Starts the list/watch thread. Calling it twice does nothing.
  void start();
  // Ends the watch (within about 100 ms) and any backoff wait, and joins the thread. Idempotent.
  void stop();

  // @return whether the first list is in the cache and its objects went through the handlers.
  bool hasSynced() const;
  // Waits until hasSynced() or `timeout`. @return hasSynced().
  bool waitForSync(std::chrono::milliseconds timeout) const;

  // @return the cached object, or null.
  ObjectPtr get(std::string_view namespace_name, std::string_view name) const;
  // @return every cached object, ordered by namespace/name.
  std::vector<ObjectPtr> list() const;
  // @return the resourceVersion the next watch would start from ("" before the first list).
  std::string lastResourceVersion() const;

  // @return "namespace/name", or "name" for an object without a namespace.
  static std::string keyOf(std::string_view namespace_name, std::string_view name);

 private:
  enum class WatchEnd { kResume, kRelist, kBackoffResume, kBackoffRelist, kStopped };

  void run();
  // Lists and replaces the cache. @return OK, or the list's error.
  absl::Status listAndReplace();
  // One watch from the last resourceVersion.
  WatchEnd watchOnce();
  void handleEvent(const WatchEvent& event);
  // Waits the next backoff delay (cut short by stop()). @return false when stopping.
  bool backoffWait(const absl::Status& why);
  std::chrono::seconds watchTimeout();

  KubeClient& client_;
  const InformerOptions options_;
  const InformerHandlers handlers_;

  common::Clock& clock_;
  // Only touched by the informer thread.
  common::Backoff backoff_;
  std::optional<common::MonotonicTime> last_failure_;
  bool last_rv_unavailable_ = false;
  bool last_watch_gone_without_progress_ = false;

  std::atomic<bool> stopping_{false};
  std::thread thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, ObjectPtr> cache_ ABSL_GUARDED_BY(mu_);
  std::string last_rv_ ABSL_GUARDED_BY(mu_);
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace secretsync::kube
