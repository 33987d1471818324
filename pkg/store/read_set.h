#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "pkg/store/fetcher.h"
#include "pkg/store/store_client.h"

namespace secretsync::store {

// The secrets one unit of work reads (one ExternalSecret reconcile, one CSI mount), each distinct
// (identity, path, version) read through the Fetcher once: whatever takes several values of one
// secret gets them from one Vault version, even when the path is written in between and the
// Fetcher's cache has expired or is off. Only successes are kept; errors go back as they are.
// The values are zeroed when the ReadSet is destroyed.
//
// Thread-safety: not thread-safe; one per unit of work. `fetcher` must outlive it.
class ReadSet {
 public:
  explicit ReadSet(Fetcher& fetcher) : fetcher_(fetcher) {}
  ~ReadSet();

  ReadSet(const ReadSet&) = delete;
  ReadSet& operator=(const ReadSet&) = delete;

  // `ref` as `client` reads it: from this set when read before, else through the Fetcher.
  // @return the secret, owned by this set; errors as Fetcher::read.
  absl::StatusOr<const Secret*> read(StoreClient& client, const SecretRef& ref);

 private:
  using Key = std::tuple<std::string, std::string, std::optional<int64_t>>;

  Fetcher& fetcher_;
  std::map<Key, Secret> reads_;
};

}  // namespace secretsync::store
