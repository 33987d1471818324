#include "pkg/kube/informer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_fields.h"
#include "pkg/common/log.h"
#include "pkg/kube/api_error.h"

namespace secretsync::kube {
namespace {

namespace log = common::log;

std::string objectKey(const nlohmann::json& object) {
  return Informer::keyOf(common::metadataString(object, "namespace"),
                         common::metadataString(object, "name"));
}

// A watch that ends this fast without one event is a server (or proxy) closing at once; resuming
// without a pause would spin (client-go's "very short watch").
constexpr std::chrono::seconds kVeryShortWatch{1};

}  // namespace

Informer::Informer(KubeClient& client, InformerOptions options, InformerHandlers handlers)
    : client_(client),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      clock_(options_.clock != nullptr ? *options_.clock : common::realClock()),
      backoff_(options_.backoff, options_.random) {}

Informer::~Informer() { stop(); }

std::string Informer::keyOf(std::string_view namespace_name, std::string_view name) {
  return namespace_name.empty() ? std::string(name)
                                : absl::StrCat(common::av(namespace_name), "/", common::av(name));
}

void Informer::start() {
  if (thread_.joinable() || stopping_.load()) return;
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_.store(true);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::hasSynced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return synced_; });
}

ObjectPtr Informer::get(std::string_view namespace_name, std::string_view name) const {
  const std::string key = keyOf(options_.resource.namespaced ? namespace_name : "", name);
  std::lock_guard lock(mu_);
  const auto it = cache_.find(key);
  return it == cache_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::list() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(cache_.size());
  for (const auto& [key, object] : cache_) out.push_back(object);
  return out;
}

std::string Informer::lastResourceVersion() const {
  std::lock_guard lock(mu_);
  return last_rv_;
}

std::chrono::seconds Informer::watchTimeout() {
  const auto min = options_.min_watch_timeout.count();
  return std::chrono::seconds(min +
                              static_cast<int64_t>(static_cast<double>(min) * options_.random()));
}

void Informer::run() {
  bool need_list = true;
  while (!stopping_.load()) {
    if (need_list) {
      const absl::Status listed = listAndReplace();
      if (stopping_.load()) return;
      if (!listed.ok()) {
        if (isGone(listed) && !last_rv_unavailable_) {
          // The version we asked "not older than" is compacted away: a consistent read next.
          last_rv_unavailable_ = true;
          continue;
        }
        if (!backoffWait(listed)) return;
        continue;
      }
      need_list = false;
    }
    switch (watchOnce()) {
      case WatchEnd::kResume:
        break;
      case WatchEnd::kRelist:
        need_list = true;
        break;
      case WatchEnd::kBackoffResume:
        break;
      case WatchEnd::kBackoffRelist:
        need_list = true;
        break;
      case WatchEnd::kStopped:
        return;
    }
  }
}

absl::Status Informer::listAndReplace() {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.limit = options_.page_size;
  {
    std::lock_guard lock(mu_);
    // "0": any version, from the server's watch cache; later the last one seen, "not older than".
    list_options.resource_version = last_rv_unavailable_ ? "" : (last_rv_.empty() ? "0" : last_rv_);
  }
  absl::StatusOr<ObjectList> listed =
      listAll(client_, options_.resource, options_.namespace_name, list_options);
  if (!listed.ok()) return listed.status();

  std::map<std::string, ObjectPtr> fresh;
  for (nlohmann::json& item : listed->items) {
    // Items of a built-in list carry no kind or apiVersion; handlers get whole objects.
    if (!item.contains("kind")) item["kind"] = options_.resource.kind;
    if (!item.contains("apiVersion")) item["apiVersion"] = options_.resource.apiVersion();
    std::string key = objectKey(item);
    fresh.emplace(std::move(key), std::make_shared<const nlohmann::json>(std::move(item)));
  }
  std::map<std::string, ObjectPtr> old;
  {
    std::lock_guard lock(mu_);
    old.swap(cache_);
    cache_ = fresh;
    last_rv_ = listed->resource_version;
  }
  last_rv_unavailable_ = false;

  // Deletes first: what vanished while no watch was open.
  for (const auto& [key, object] : old) {
    if (!fresh.contains(key) && handlers_.on_delete) handlers_.on_delete(*object);
  }
  for (const auto& [key, object] : fresh) {
    const auto before = old.find(key);
    if (before == old.end()) {
      if (handlers_.on_add) handlers_.on_add(*object);
    } else if (common::metadataString(*before->second, "resourceVersion") !=
               common::metadataString(*object, "resourceVersion")) {
      if (handlers_.on_update) handlers_.on_update(*before->second, *object);
    }
  }
  {
    // Synced only once the handlers have seen the first list: a controller waiting for the sync
    // then has every existing object queued.
    std::lock_guard lock(mu_);
    synced_ = true;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

void Informer::handleEvent(const WatchEvent& event) {
  const std::string rv = common::metadataString(event.object, "resourceVersion");
  if (event.type == WatchEvent::Type::kBookmark) {
    std::lock_guard lock(mu_);
    last_rv_ = rv;
    return;
  }
  const std::string key = objectKey(event.object);
  if (event.type == WatchEvent::Type::kDeleted) {
    {
      std::lock_guard lock(mu_);
      cache_.erase(key);
      if (!rv.empty()) last_rv_ = rv;
    }
    if (handlers_.on_delete) handlers_.on_delete(event.object);
    return;
  }
  auto object = std::make_shared<const nlohmann::json>(event.object);
  ObjectPtr before;
  {
    std::lock_guard lock(mu_);
    ObjectPtr& slot = cache_[key];
    before = std::move(slot);
    slot = object;
    if (!rv.empty()) last_rv_ = rv;
  }
  if (before == nullptr) {
    if (handlers_.on_add) handlers_.on_add(*object);
  } else if (handlers_.on_update) {
    handlers_.on_update(*before, *object);
  }
}

Informer::WatchEnd Informer::watchOnce() {
  WatchOptions watch_options;
  watch_options.resource_version = lastResourceVersion();
  watch_options.label_selector = options_.label_selector;
  watch_options.field_selector = options_.field_selector;
  watch_options.allow_bookmarks = true;
  watch_options.timeout = watchTimeout();
  watch_options.stop = &stopping_;
  size_t events = 0;
  const common::MonotonicTime started = clock_.monotonicNow();
  const absl::Status status = client_.watch(options_.resource, options_.namespace_name,
                                            watch_options, [&](const WatchEvent& event) {
                                              if (event.type == WatchEvent::Type::kError)
                                                return false;  // watch() returns it
                                              ++events;
                                              handleEvent(event);
                                              return !stopping_.load();
                                            });
  if (stopping_.load()) return WatchEnd::kStopped;

  const bool gone = isGone(status);
  const bool gone_again = gone && events == 0 && last_watch_gone_without_progress_;
  last_watch_gone_without_progress_ = gone && events == 0;
  if (gone) {
    log::info("informer: watch expired, listing again",
              {{"resource", options_.resource.plural}, {"error", status}});
    // Relist at once; only a 410 straight after a fresh list (no progress) waits first.
    if (gone_again && !backoffWait(status)) return WatchEnd::kStopped;
    return WatchEnd::kRelist;
  }
  if (status.ok()) {
    if (events == 0 && clock_.monotonicNow() - started < kVeryShortWatch) {
      if (!backoffWait(absl::UnavailableError("the watch ended at once without an event"))) {
        return WatchEnd::kStopped;
      }
      return WatchEnd::kBackoffResume;
    }
    return WatchEnd::kResume;
  }
  if (!backoffWait(status)) return WatchEnd::kStopped;
  // The cache is intact after a throttled or broken watch; anything else (forbidden, a garbled
  // stream) may have lost events, so list again.
  return isRetryable(status) ? WatchEnd::kBackoffResume : WatchEnd::kBackoffRelist;
}

bool Informer::backoffWait(const absl::Status& why) {
  const common::MonotonicTime now = clock_.monotonicNow();
  if (last_failure_.has_value() && now - *last_failure_ >= options_.backoff_reset_after) {
    backoff_.reset();
  }
  last_failure_ = now;
  const std::chrono::milliseconds delay = backoff_.next();
  log::warn("informer: list/watch failed, backing off",
            {{"resource", options_.resource.plural},
             {"namespace", options_.namespace_name},
             {"error", why},
             {"delay_ms", static_cast<int64_t>(delay.count())}});
  std::unique_lock lock(mu_);
  common::waitUntil(cv_, lock, clock_, now + delay, options_.max_real_wait,
                    [&] { return stopping_.load(); });
  return !stopping_.load();
}

}  // namespace secretsync::kube
