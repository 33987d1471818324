#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/common/clock.h"
#include "pkg/common/clock_wait.h"
#include "pkg/common/token_bucket.h"
#include "pkg/kube/kube_client.h"

namespace secretsync::kube {

// The object an Event is about (core/v1 ObjectReference).
struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string namespace_name;  // "" for cluster-scoped objects (the Event goes to "default")
  std::string name;
  std::string uid;
  std::string resource_version;
};

// The reference to `object` (an object as the API returns it: apiVersion, kind, metadata).
ObjectReference objectReferenceOf(const nlohmann::json& object);

enum class EventType { kNormal, kWarning };

struct EventRecorderOptions {
  // source.component (client-go's EventSource.Component).
  std::string component = "secretsync";
  // reportingComponent (Go's ReportingController) and reportingInstance (the pod name).
  std::string reporting_controller = "secretsync";
  std::string reporting_instance;
  // Pending events; when full, new ones are dropped and counted (the caller never blocks).
  size_t queue_capacity = 1000;
  // An identical event (same object, type, reason, message) seen again within this window
  // PATCHes count and lastTimestamp of the Event written before instead of creating one.
  // Events expire server-side after an hour by default.
  std::chrono::seconds aggregation_window = std::chrono::minutes(10);
  // How many identical-event entries are remembered (client-go's LRU of 4096).
  size_t cache_size = 4096;
  // Per-object spam filter, as client-go's: a burst of 25, one more every 300 s.
  double spam_burst = 25;
  std::chrono::seconds spam_refill_interval = std::chrono::seconds(300);
  // Write attempts per event for retryable errors (429, 5xx, transport), spaced retry_interval
  // apart (client-go: 12 attempts, 10 s). Not retried once shutdown() begins.
  int max_attempts = 12;
  std::chrono::milliseconds retry_interval = std::chrono::seconds(10);
  // See common::waitUntil; tests with a ManualClock pass about a millisecond.
  std::chrono::nanoseconds max_real_wait = common::kDefaultMaxRealWait;
};

// Counters of what happened to recorded events.
struct EventRecorderStats {
  uint64_t recorded = 0;      // record() calls accepted into the queue
  uint64_t created = 0;       // Events POSTed
  uint64_t patched = 0;       // repeats folded into an existing Event
  uint64_t dropped_full = 0;  // the queue was full
  uint64_t dropped_spam = 0;  // the object's spam bucket was empty
  uint64_t failed = 0;        // gave up writing after the attempts
};

// Writes core/v1 Events (kubernetes-api.md §5.1) as client-go's recorder does, without ever
// blocking the caller on the API server:
//  - record() checks the per-object spam filter and puts the event on a bounded queue; one
//    worker thread writes them;
//  - an event identical to one written within aggregation_window becomes a merge PATCH of
//    `count` and `lastTimestamp` on that Event (client-go's EventCorrelator); when that Event is
//    gone (expired, 404) a new one is created;
//  - Event names are `<object name>.<16 hex digits of unix nanoseconds>`, namespace the
//    object's (or "default"); source.component, reportingComponent, reportingInstance set;
//  - messages are cut to 1024 bytes (on a UTF-8 boundary), as events.k8s.io's note limit.
//
// SECRETS: the recorder writes the caller's reason and message as given, and Events are
// readable by anyone who can list events in the namespace. Callers must pass value-free
// messages: name the object, key or path, never a secret's data, a token or a store response.
//
// Thread-safety: record() and stats() are thread-safe and never wait for the API. shutdown()
// (also from the destructor) writes what is queued, then joins the worker.
class EventRecorder {
 public:
  static absl::StatusOr<std::unique_ptr<EventRecorder>> create(KubeClient& client,
                                                               common::Clock& clock,
                                                               EventRecorderOptions options);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Queues an Event about `object`. `reason` is CamelCase ("SyncFailed"); `message` must not
  // contain secret values (see the class comment). Never blocks on the API; drops when full.
  void record(const ObjectReference& object, EventType type, std::string_view reason,
              std::string_view message);

  // Writes every queued event (no retries once stopping), then stops the worker. Later
  // record() calls are dropped. Idempotent.
  void shutdown();

  EventRecorderStats stats() const;

  // The longest message written, in bytes.
  static constexpr size_t kMaxMessageBytes = 1024;

 private:
  struct Pending {
    ObjectReference object;
    EventType type = EventType::kNormal;
    std::string reason;
    std::string message;
    common::SystemTime time;
  };
  // An Event written before, for aggregation.
  struct Written {
    std::string namespace_name;
    std::string name;
    int64_t count = 0;
    common::MonotonicTime last_seen;
    std::list<std::string>::iterator lru;
  };
  struct SpamEntry {
    common::TokenBucket bucket;
    std::list<std::string>::iterator lru;
  };

  EventRecorder(KubeClient& client, common::Clock& clock, EventRecorderOptions options);

  void run();
  void write(const Pending& event);
  // Runs `attempt` until it succeeds, fails for good or attempts run out. @return its status.
  absl::Status withRetries(const std::function<absl::StatusOr<nlohmann::json>()>& attempt);
  nlohmann::json newEvent(const Pending& event, const std::string& namespace_name,
                          const std::string& name) const;
  std::string eventName(const ObjectReference& object);
  void remember(const std::string& key, Written written);

  KubeClient& client_;
  common::Clock& clock_;
  const EventRecorderOptions options_;
  const Resource events_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  EventRecorderStats stats_ ABSL_GUARDED_BY(mu_);
  // Spam filter: a bucket per object, least recently used first out when over cache_size.
  std::unordered_map<std::string, SpamEntry> spam_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> spam_lru_ ABSL_GUARDED_BY(mu_);

  // The worker's own state.
  std::unordered_map<std::string, Written> written_;
  std::list<std::string> written_lru_;
  int64_t last_name_nanos_ = 0;

  std::mutex join_mu_;
  std::thread worker_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace secretsync::kube
