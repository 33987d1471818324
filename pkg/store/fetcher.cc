#include "pkg/store/fetcher.h"

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace secretsync::store {

Fetcher::Fetcher(common::Clock& clock, FetcherOptions options) : clock_(clock), options_(options) {}

absl::StatusOr<Secret> Fetcher::read(StoreClient& client, const SecretRef& ref) {
  const bool caching =
      options_.cache_ttl > std::chrono::milliseconds(0) && options_.max_entries > 0;
  Key key(client.identity(), ref.path, ref.version);

  std::unique_lock lock(mu_);
  ++stats_.reads_requested;
  const common::MonotonicTime start = clock_.monotonicNow();

  if (caching) {
    const auto cached = cache_.find(key);
    if (cached != cache_.end()) {
      if (start < cached->second.by_expiry->first) {
        ++stats_.cache_hits;
        SecretPtr secret = cached->second.secret;
        lock.unlock();
        // Copy outside the lock: a secret can be large.
        return *secret;
      }
      eraseLocked(cached);
    }
  }

  if (const auto running = flights_.find(key); running != flights_.end()) {
    ++stats_.singleflight_joins;
    std::shared_ptr<Flight> flight = running->second;
    flight->done_cv.wait(lock, [&] { return flight->done; });
    lock.unlock();
    // The result is immutable once done.
    if (!flight->result.ok()) {
      return flight->result.status();
    }
    return **flight->result;
  }

  auto flight = std::make_shared<Flight>();
  flights_.emplace(key, flight);
  ++stats_.store_reads;
  lock.unlock();

  absl::StatusOr<SecretPtr> result = readFromStore(client, ref);

  lock.lock();
  flight->result = result;
  flight->done = true;
  // invalidate() may have detached this flight and another may run under the key now.
  if (const auto mine = flights_.find(key); mine != flights_.end() && mine->second == flight) {
    flights_.erase(mine);
  }
  if (caching && result.ok() && flight->cacheable) {
    // The TTL counts from when the read started: the data is at least that old.
    const common::MonotonicTime now = clock_.monotonicNow();
    const common::MonotonicTime expires_at = start + options_.cache_ttl;
    if (now < expires_at) {
      insertLocked(key, *result, expires_at, now);
    }
  }
  flight->done_cv.notify_all();
  lock.unlock();

  if (!result.ok()) {
    return result.status();
  }
  return **result;
}

absl::StatusOr<Fetcher::SecretPtr> Fetcher::readFromStore(StoreClient& client,
                                                          const SecretRef& ref) {
  // StoreClients do not throw; should one anyway, the waiters of this flight must still be
  // released, so the exception becomes an error here.
  try {
    absl::StatusOr<Secret> secret = client.read(ref);
    if (!secret.ok()) {
      return secret.status();
    }
    return std::make_shared<const Secret>(std::move(*secret));
  } catch (const std::exception&) {
    return absl::InternalError(absl::StrCat("reading ", ref.path, " failed unexpectedly"));
  }
}

void Fetcher::insertLocked(const Key& key, SecretPtr secret, common::MonotonicTime expires_at,
                           common::MonotonicTime now) {
  dropExpiredLocked(now);
  if (const auto existing = cache_.find(key); existing != cache_.end()) {
    eraseLocked(existing);
  }
  while (!cache_.empty() && cache_.size() >= options_.max_entries) {
    // Everything expired is gone already: drop what expires soonest.
    const auto victim = cache_.find(*by_expiry_.begin()->second);
    eraseLocked(victim);
    ++stats_.evictions;
  }
  auto [it, inserted] = cache_.emplace(key, Entry{std::move(secret), {}});
  (void)inserted;
  it->second.by_expiry = by_expiry_.emplace(expires_at, &it->first);
}

void Fetcher::eraseLocked(std::map<Key, Entry>::iterator it) {
  by_expiry_.erase(it->second.by_expiry);
  cache_.erase(it);
}

void Fetcher::dropExpiredLocked(common::MonotonicTime now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    eraseLocked(cache_.find(*by_expiry_.begin()->second));
  }
}

void Fetcher::invalidate(std::string_view identity, std::string_view path) {
  std::lock_guard lock(mu_);
  const Key first(std::string(identity), std::string(path), std::nullopt);
  const auto matches = [&](const Key& key) {
    return std::get<0>(key) == identity && std::get<1>(key) == path;
  };
  for (auto it = cache_.lower_bound(first); it != cache_.end() && matches(it->first);) {
    auto next = std::next(it);
    eraseLocked(it);
    it = next;
  }
  for (auto it = flights_.lower_bound(first); it != flights_.end() && matches(it->first);) {
    it->second->cacheable = false;
    it = flights_.erase(it);
  }
}

FetcherStats Fetcher::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

size_t Fetcher::cachedEntries() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

}  // namespace secretsync::store
