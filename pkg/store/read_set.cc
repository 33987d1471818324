#include "pkg/store/read_set.h"

#include <utility>

#include "pkg/common/json_wipe.h"

namespace secretsync::store {

ReadSet::~ReadSet() {
  for (auto& [key, secret] : reads_) common::wipeJsonStrings(secret.data);
}

absl::StatusOr<const Secret*> ReadSet::read(StoreClient& client, const SecretRef& ref) {
  Key key{client.identity(), ref.path, ref.version};
  if (const auto it = reads_.find(key); it != reads_.end()) return &it->second;
  absl::StatusOr<Secret> secret = fetcher_.read(client, ref);
  if (!secret.ok()) return secret.status();
  return &reads_.emplace(std::move(key), *std::move(secret)).first->second;
}

}  // namespace secretsync::store
