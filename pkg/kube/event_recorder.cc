#include "pkg/kube/event_recorder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_fields.h"
#include "pkg/common/log.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/api_time.h"

namespace secretsync::kube {
namespace {

using nlohmann::json;
namespace log = common::log;

// An Event's name is a DNS subdomain (≤ 253); ".<16 hex>" takes 17 of it.
constexpr size_t kMaxNameBase = 253 - 17;
// Separates fields in cache keys; it cannot occur in names, kinds or UIDs.
constexpr char kSep[] = "\x1f";

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string truncateUtf8(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

std::string objectKey(std::string_view component, const ObjectReference& object) {
  return absl::StrCat(common::av(component), kSep, object.api_version, kSep, object.kind, kSep,
                      object.namespace_name, kSep, object.name, kSep, object.uid);
}

std::string_view typeName(EventType type) {
  return type == EventType::kWarning ? "Warning" : "Normal";
}

}  // namespace

ObjectReference objectReferenceOf(const nlohmann::json& object) {
  ObjectReference ref;
  if (!object.is_object()) return ref;
  ref.api_version = common::jsonString(object, "apiVersion");
  ref.kind = common::jsonString(object, "kind");
  ref.namespace_name = common::metadataString(object, "namespace");
  ref.name = common::metadataString(object, "name");
  ref.uid = common::metadataString(object, "uid");
  ref.resource_version = common::metadataString(object, "resourceVersion");
  return ref;
}

absl::StatusOr<std::unique_ptr<EventRecorder>> EventRecorder::create(KubeClient& client,
                                                                     common::Clock& clock,
                                                                     EventRecorderOptions options) {
  const auto invalid = [](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("event recorder: ", common::av(what)));
  };
  if (options.component.empty()) return invalid("component must be set");
  if (options.reporting_instance.size() > 128) {
    return invalid("reporting instance must be at most 128 characters");
  }
  if (options.queue_capacity == 0) return invalid("queue capacity must be at least 1");
  if (options.cache_size == 0) return invalid("cache size must be at least 1");
  if (options.max_attempts < 1) return invalid("max attempts must be at least 1");
  if (options.spam_refill_interval <= std::chrono::seconds(0)) {
    return invalid("spam refill interval must be positive");
  }
  return std::unique_ptr<EventRecorder>(new EventRecorder(client, clock, std::move(options)));
}

EventRecorder::EventRecorder(KubeClient& client, common::Clock& clock, EventRecorderOptions options)
    : client_(client), clock_(clock), options_(std::move(options)), events_(resources::events()) {
  worker_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() { shutdown(); }

void EventRecorder::record(const ObjectReference& object, EventType type, std::string_view reason,
                           std::string_view message) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  if (queue_.size() >= options_.queue_capacity) {
    ++stats_.dropped_full;
    return;
  }
  // The spam filter runs here, not in the worker, so a flapping object cannot fill the queue.
  const common::MonotonicTime now = clock_.monotonicNow();
  const std::string key = objectKey(options_.component, object);
  auto it = spam_.find(key);
  if (it == spam_.end()) {
    const double rate = 1.0 / std::chrono::duration<double>(options_.spam_refill_interval).count();
    spam_lru_.push_front(key);
    it = spam_
             .emplace(key, SpamEntry{common::TokenBucket(rate, options_.spam_burst, now),
                                     spam_lru_.begin()})
             .first;
    if (spam_.size() > options_.cache_size) {
      spam_.erase(spam_lru_.back());
      spam_lru_.pop_back();
    }
  } else {
    spam_lru_.splice(spam_lru_.begin(), spam_lru_, it->second.lru);
  }
  if (!it->second.bucket.tryTake(now)) {
    ++stats_.dropped_spam;
    return;
  }
  queue_.push_back(Pending{object, type, std::string(reason),
                           truncateUtf8(message, kMaxMessageBytes), clock_.now()});
  ++stats_.recorded;
  cv_.notify_all();
}

void EventRecorder::shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard join_lock(join_mu_);
  if (worker_.joinable()) worker_.join();
}

EventRecorderStats EventRecorder::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void EventRecorder::run() {
  while (true) {
    Pending event;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping drains the queue first.
      if (queue_.empty()) return;
      event = std::move(queue_.front());
      queue_.pop_front();
    }
    write(event);
  }
}

absl::Status EventRecorder::withRetries(const std::function<absl::StatusOr<json>()>& attempt) {
  for (int n = 1;; ++n) {
    absl::StatusOr<json> result = attempt();
    if (result.ok()) return absl::OkStatus();
    if (!isRetryable(result.status()) || n >= options_.max_attempts) return result.status();
    std::unique_lock lock(mu_);
    if (common::waitUntil(cv_, lock, clock_, clock_.monotonicNow() + options_.retry_interval,
                          options_.max_real_wait, [this] { return stopping_; })) {
      return result.status();
    }
  }
}

std::string EventRecorder::eventName(const ObjectReference& object) {
  // client-go: "<name>.<unix nanoseconds in hex>"; kept strictly increasing so two events in
  // one clock tick (a coarse or manual clock) get different names.
  int64_t nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.now().time_since_epoch()).count();
  if (nanos <= last_name_nanos_) nanos = last_name_nanos_ + 1;
  last_name_nanos_ = nanos;
  std::string base = object.name.substr(0, kMaxNameBase);
  // A DNS label must end alphanumeric.
  while (!base.empty() && (base.back() == '.' || base.back() == '-')) base.pop_back();
  if (base.empty()) base = "object";
  return absl::StrFormat("%s.%016x", base, static_cast<uint64_t>(nanos));
}

json EventRecorder::newEvent(const Pending& event, const std::string& namespace_name,
                             const std::string& name) const {
  json involved = {{"apiVersion", event.object.api_version},
                   {"kind", event.object.kind},
                   {"name", event.object.name}};
  if (!event.object.namespace_name.empty()) involved["namespace"] = event.object.namespace_name;
  if (!event.object.uid.empty()) involved["uid"] = event.object.uid;
  if (!event.object.resource_version.empty()) {
    involved["resourceVersion"] = event.object.resource_version;
  }
  const std::string time = formatTime(event.time);
  return json{{"apiVersion", "v1"},
              {"kind", "Event"},
              {"metadata", {{"name", name}, {"namespace", namespace_name}}},
              {"involvedObject", std::move(involved)},
              {"reason", event.reason},
              {"message", event.message},
              {"type", typeName(event.type)},
              {"source", {{"component", options_.component}}},
              {"firstTimestamp", time},
              {"lastTimestamp", time},
              {"count", 1},
              {"reportingComponent", options_.reporting_controller},
              {"reportingInstance", options_.reporting_instance}};
}

void EventRecorder::remember(const std::string& key, Written written) {
  if (auto old = written_.find(key); old != written_.end()) {
    written_lru_.erase(old->second.lru);
    written_.erase(old);
  }
  written_lru_.push_front(key);
  written.lru = written_lru_.begin();
  written_.emplace(key, std::move(written));
  if (written_.size() > options_.cache_size) {
    written_.erase(written_lru_.back());
    written_lru_.pop_back();
  }
}

void EventRecorder::write(const Pending& event) {
  const std::string namespace_name =
      event.object.namespace_name.empty() ? "default" : event.object.namespace_name;
  const std::string key =
      absl::StrCat(objectKey(options_.component, event.object), kSep,
                   common::av(typeName(event.type)), kSep, event.reason, kSep, event.message);
  const common::MonotonicTime now = clock_.monotonicNow();
  // Logged on failure: the object and reason, never the message (callers' text).
  const auto logFailure = [&](std::string_view what, const absl::Status& status) {
    log::warn(what, {{"object", absl::StrCat(event.object.kind, " ", event.object.namespace_name,
                                             "/", event.object.name)},
                     {"reason", event.reason},
                     {"error", status}});
  };

  if (auto it = written_.find(key);
      it != written_.end() && now - it->second.last_seen <= options_.aggregation_window) {
    Written& seen = it->second;
    const json patch = {{"count", seen.count + 1}, {"lastTimestamp", formatTime(event.time)}};
    const absl::Status status = withRetries([&] {
      return client_.patch(events_, seen.namespace_name, seen.name, PatchType::kMerge, patch);
    });
    if (status.ok()) {
      ++seen.count;
      seen.last_seen = now;
      written_lru_.splice(written_lru_.begin(), written_lru_, seen.lru);
      std::lock_guard lock(mu_);
      ++stats_.patched;
      return;
    }
    if (!isNotFound(status)) {
      logFailure("event: cannot update the count of an event", status);
      std::lock_guard lock(mu_);
      ++stats_.failed;
      return;
    }
    // The Event expired or was deleted: write a new one.
  }

  const std::string name = eventName(event.object);
  const json body = newEvent(event, namespace_name, name);
  const absl::Status status =
      withRetries([&] { return client_.create(events_, namespace_name, body); });
  if (!status.ok()) {
    logFailure("event: cannot create an event", status);
    std::lock_guard lock(mu_);
    ++stats_.failed;
    return;
  }
  remember(key,
           Written{.namespace_name = namespace_name, .name = name, .count = 1, .last_seen = now});
  std::lock_guard lock(mu_);
  ++stats_.created;
}

}  // namespace secretsync::kube
