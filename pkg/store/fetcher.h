#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "pkg/store/store_client.h"

namespace secretsync::store {

struct FetcherOptions {
  // How long a successful read is served from memory. Zero disables caching; identical concurrent
  // reads still share one store read.
  std::chrono::milliseconds cache_ttl{5000};
  // Most entries kept; when full, expired entries go first, then those closest to expiry. Zero
  // disables caching.
  size_t max_entries = 10000;
};

// Counters for metrics ("store reads saved by the cache") and tests. Monotonic.
struct FetcherStats {
  // read() calls.
  uint64_t reads_requested = 0;
  // StoreClient::read calls made.
  uint64_t store_reads = 0;
  // read() calls answered from the cache.
  uint64_t cache_hits = 0;
  // read() calls that waited for an identical read already running and shared its result.
  uint64_t singleflight_joins = 0;
  // Live entries dropped to stay within max_entries.
  uint64_t evictions = 0;

  uint64_t readsSaved() const { return cache_hits + singleflight_joins; }
};

// Runs secret reads through StoreClients so that each distinct (identity, path, version) costs one
// store read per cache window (design invariant 4):
// - single-flight: identical concurrent reads (same client.identity(), path and version) share one
//   client.read(); the first caller reads, the others wait and get the same result, errors
//   included;
// - a short TTL cache of successful results, keyed by identity + path + version, never by path
//   alone, so one identity never sees what only another may read. Errors are never cached.
// Memory is bounded by max_entries. Times come from Clock::monotonicNow().
//
// Thread-safety: all methods may be called from many threads at once. One mutex guards the maps;
// it is never held while calling a StoreClient. `clock` must outlive the Fetcher.
class Fetcher {
 public:
  explicit Fetcher(common::Clock& clock, FetcherOptions options = {});

  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Reads `ref` through `client`, from the cache or a shared in-flight read when possible.
  // Errors: as StoreClient::read.
  absl::StatusOr<Secret> read(StoreClient& client, const SecretRef& ref);

  // Forgets what is cached for `path` as `identity` (all versions), and detaches reads of it now
  // running so that the next read() goes to the store and their result is not cached.
  void invalidate(std::string_view identity, std::string_view path);

  FetcherStats stats() const;
  // @return the number of cached entries, expired ones not yet dropped included.
  size_t cachedEntries() const;

 private:
  // identity, path, version (nullopt = current). Ordered so all versions of a path are adjacent.
  using Key = std::tuple<std::string, std::string, std::optional<int64_t>>;
  using SecretPtr = std::shared_ptr<const Secret>;

  struct Flight {
    std::condition_variable done_cv;
    bool done = false;
    // False once invalidate() detached the flight: its result is handed to its waiters only.
    bool cacheable = true;
    absl::StatusOr<SecretPtr> result;
  };

  struct Entry {
    SecretPtr secret;
    std::multimap<common::MonotonicTime, const Key*>::iterator by_expiry;
  };

  void insertLocked(const Key& key, SecretPtr secret, common::MonotonicTime expires_at,
                    common::MonotonicTime now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void eraseLocked(std::map<Key, Entry>::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void dropExpiredLocked(common::MonotonicTime now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static absl::StatusOr<SecretPtr> readFromStore(StoreClient& client, const SecretRef& ref);

  common::Clock& clock_;
  const FetcherOptions options_;

  mutable std::mutex mu_;
  std::map<Key, Entry> cache_ ABSL_GUARDED_BY(mu_);
  // Cache entries by expiry time, earliest first; values point at keys of cache_ (stable in a map).
  std::multimap<common::MonotonicTime, const Key*> by_expiry_ ABSL_GUARDED_BY(mu_);
  std::map<Key, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
  FetcherStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace secretsync::store
