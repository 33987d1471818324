#pragma once

// A store::StoreClient fake for the Fetcher and ReadSet tests.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/store/store_client.h"
#include "test/mocks/store/vault/auth_fakes.h"

namespace secretsync::test {

// A StoreClient for one identity serving fixed data per path (the version is echoed back), with an
// optional gate to hold reads and scripted failures.
//
// Thread-safety: all methods are safe from any thread.
class FakeStoreClient final : public store::StoreClient {
 public:
  explicit FakeStoreClient(std::string identity) : identity_(std::move(identity)) {}

  void put(const std::string& path, nlohmann::json data) {
    std::lock_guard lock(mu_);
    data_[path] = std::move(data);
  }
  // The next `n` reads fail with `status`.
  void failNext(int n, absl::Status status) {
    std::lock_guard lock(mu_);
    failures_ = n;
    failure_ = std::move(status);
  }
  void holdReadsAt(AuthGate* gate) { gate_ = gate; }

  absl::StatusOr<store::Secret> read(const store::SecretRef& ref) override {
    ++reads_;
    if (AuthGate* gate = gate_.load(); gate != nullptr) {
      gate->wait();
    }
    std::lock_guard lock(mu_);
    refs_.push_back(ref);
    if (failures_ > 0) {
      --failures_;
      return failure_;
    }
    const auto it = data_.find(ref.path);
    if (it == data_.end()) {
      return store::notFoundError(store::NotFoundReason::Missing, "no secret at " + ref.path);
    }
    store::Secret secret;
    secret.data = it->second;
    secret.version = ref.version.value_or(7);
    return secret;
  }
  absl::StatusOr<store::SecretMetadata> readMetadata(std::string_view) override {
    return absl::UnimplementedError("not in this fake");
  }
  absl::StatusOr<std::vector<std::string>> list(std::string_view, bool) override {
    return absl::UnimplementedError("not in this fake");
  }
  absl::Status validate() override { return absl::OkStatus(); }
  std::optional<std::chrono::seconds> credentialsTtl() const override { return std::nullopt; }
  const std::string& identity() const override { return identity_; }

  int reads() const { return reads_.load(); }
  std::vector<store::SecretRef> refs() const {
    std::lock_guard lock(mu_);
    return refs_;
  }

 private:
  const std::string identity_;
  std::atomic<int> reads_{0};
  std::atomic<AuthGate*> gate_{nullptr};
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> data_;
  std::vector<store::SecretRef> refs_;
  int failures_ = 0;
  absl::Status failure_;
};

}  // namespace secretsync::test
