#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "pkg/common/secret_string.h"
#include "pkg/store/vault/auth.h"
#include "pkg/store/vault/vault_transport.h"

namespace secretsync::store::vault {

struct TokenManagerOptions {
  // Renew the token (or, when it is not renewable, log in again) once this share of its lease has
  // passed, as Vault's Go client does (reference §2.6).
  double renew_fraction = 2.0 / 3.0;
  // Share of that point taken off at random, so tokens obtained together do not renew together:
  // the renewal falls in [lease * renew_fraction * (1 - renew_jitter), lease * renew_fraction].
  double renew_jitter = 0.1;
  // A renewal that returns a lease of at most this share of the longest lease seen for the token
  // means its max TTL is close: log in again (at the next due point, before expiry) instead of
  // renewing further. Go's LifetimeWatcher uses 10-20 %.
  double grace_fraction = 0.15;
  // Sent as renew-self's `increment`; zero sends none (the server's default). Advisory only: the
  // returned lease_duration is what counts.
  std::chrono::seconds renew_increment{0};
  // A token counts as expired this long before its lease ends (at most a tenth of the lease), so a
  // request sent with it does not arrive after it expired.
  std::chrono::seconds expiry_skew{10};
  // Delay before retrying a renewal (or a re-login ahead of expiry) that failed while the token is
  // still valid; doubles up to retry_max, with jitter. Never scheduled past the token's expiry.
  std::chrono::seconds retry_initial{10};
  std::chrono::seconds retry_max{300};
};

// Counters for metrics and tests. Monotonic.
struct TokenManagerStats {
  // Logins attempted (for token auth: lookup-self validations), failed ones included.
  uint64_t logins = 0;
  uint64_t login_failures = 0;
  // renew-self calls attempted, failed ones included.
  uint64_t renewals = 0;
  uint64_t renewal_failures = 0;
  // token() callers that waited for a login another caller was running.
  uint64_t login_waits = 0;
  // invalidate() calls that dropped the current token.
  uint64_t invalidations = 0;
};

// Hands out a valid Vault token for one identity (one Authenticator).
//
// - token(): with no usable token (none yet, invalidated, or expired: now >= expiry - skew) it logs
//   in. Exactly one login runs at a time: concurrent callers wait on a condition variable and all
//   get that login's result, error included. A failed login is not retried by the waiters; the
//   next token() call after it tries again.
// - Renewal: once the renewal point (about 2/3 of the lease) has passed, the one caller that
//   notices renews with auth/token/renew-self while the others go on using the still-valid token.
//   The returned lease_duration is used as is. When it is too short to be worth it (<= grace), the
//   token is not renewable, or renew-self is refused (400 "past the max TTL", "lease is not
//   renewable", 403) the manager logs in again ahead of expiry instead; a refused login then keeps
//   the old token until it expires. A renewal failing otherwise (kUnavailable: Vault down, sealed)
//   keeps the token until expiry and is retried later with backoff. A renewal answered "invalid
//   token" (kUnauthenticated) drops the token: the caller logs in at once.
// - invalidate(t): if `t` is the current token it is dropped, so the next token() logs in again; if
//   the current token is already another (newer) one, nothing happens. N callers failing together
//   with the same old token thus cause exactly one re-login.
// - Token auth (a given token): "login" is lookup-self, which learns ttl and renewable. A re-login
//   that returns the same token as before stops further refreshes until expiry (nothing more can
//   be gained); an invalidated static token is re-validated once by the next token(), which then
//   fails with kUnauthenticated / kPermissionDenied naming the cause.
// The token never appears in a message or a log.
//
// Thread-safety: all public methods may be called from many threads at once. One mutex guards the
// state; it is never held while calling Vault. `transport`, `clock` and the authenticator must
// outlive the manager.
class TokenManager final : public TokenProvider {
 public:
  TokenManager(VaultTransport& transport, AuthenticatorPtr authenticator, common::Clock& clock,
               TokenManagerOptions options = {});

  absl::StatusOr<common::SecretString> token() override;
  void invalidate(const common::SecretString& token) override;

  // @return the time left before the current token expires (for the token-TTL metric), or nullopt
  // when there is no token or it never expires.
  std::optional<std::chrono::seconds> remainingTtl() const;

  // @return the authenticator's identity (secret-free).
  const std::string& identity() const { return identity_; }

  TokenManagerStats stats() const;

 private:
  enum class Refresh { kNone, kRenew, kRelogin };

  bool usableLocked(common::MonotonicTime now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs the login with mu_ released; publishes the result to waiters. A failure while a still
  // valid token is held schedules a retry instead of dropping it.
  absl::StatusOr<common::SecretString> loginLocked(std::unique_lock<std::mutex>& lock)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Renews or re-logs in ahead of expiry, with mu_ released during the call to Vault.
  void refreshLocked(std::unique_lock<std::mutex>& lock) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void installLocked(const LoginResult& result, common::MonotonicTime start)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Schedules the next refresh attempt after a failure, with backoff, before expiry.
  void scheduleRetryLocked(common::MonotonicTime now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::chrono::nanoseconds renewDelayLocked(std::chrono::seconds lease)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<LoginResult> callLogin();
  absl::StatusOr<LoginResult> callRenew(const common::SecretString& token);

  VaultTransport& transport_;
  const AuthenticatorPtr authenticator_;
  common::Clock& clock_;
  const TokenManagerOptions options_;
  const std::string identity_;

  mutable std::mutex mu_;
  // Signalled (notify_all) whenever a login finishes.
  std::condition_variable login_done_;
  std::optional<common::SecretString> token_ ABSL_GUARDED_BY(mu_);
  // nullopt: the token never expires.
  std::optional<common::MonotonicTime> expires_at_ ABSL_GUARDED_BY(mu_);
  std::chrono::nanoseconds skew_ ABSL_GUARDED_BY(mu_){0};
  std::chrono::seconds longest_lease_ ABSL_GUARDED_BY(mu_){0};
  Refresh refresh_ ABSL_GUARDED_BY(mu_) = Refresh::kNone;
  common::MonotonicTime refresh_at_ ABSL_GUARDED_BY(mu_);
  std::chrono::nanoseconds retry_delay_ ABSL_GUARDED_BY(mu_){0};
  bool login_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool renew_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // Incremented when a login finishes; waiters wait for it to change.
  uint64_t login_generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::StatusOr<common::SecretString> last_login_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
  TokenManagerStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace secretsync::store::vault
