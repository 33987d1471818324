#pragma once

#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "pkg/store/vault/auth.h"

namespace secretsync::test {

// A TokenProvider handing out "token-1", then "token-2" after that one is invalidated, and so on,
// as the real TokenManager does (invalidating an older token than the current one is a no-op).
// Counts logins and invalidations; can be told to fail.
//
// Thread-safety: all methods are safe from any thread.
class FakeTokenProvider final : public store::vault::TokenProvider {
 public:
  absl::StatusOr<common::SecretString> token() override {
    std::lock_guard lock(mu_);
    if (!error_.ok()) {
      return error_;
    }
    if (!has_token_) {
      ++logins_;
      has_token_ = true;
    }
    return common::SecretString("token-" + std::to_string(logins_));
  }

  void invalidate(const common::SecretString& token) override {
    std::lock_guard lock(mu_);
    ++invalidations_;
    if (has_token_ && token.reveal() == "token-" + std::to_string(logins_)) {
      has_token_ = false;
    }
  }

  void setError(absl::Status error) {
    std::lock_guard lock(mu_);
    error_ = std::move(error);
  }
  int logins() const {
    std::lock_guard lock(mu_);
    return logins_;
  }
  int invalidations() const {
    std::lock_guard lock(mu_);
    return invalidations_;
  }

 private:
  mutable std::mutex mu_;
  bool has_token_ = false;
  int logins_ = 0;
  int invalidations_ = 0;
  absl::Status error_;
};

}  // namespace secretsync::test
