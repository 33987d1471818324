#include "pkg/store/vault/token_manager.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_wipe.h"
#include "pkg/store/vault/auth_reply.h"
#include "pkg/store/vault/vault_errors.h"

namespace secretsync::store::vault {
namespace {

constexpr std::string_view kRenewSelfPath = "auth/token/renew-self";

// Failed refreshes are not retried sooner than this, however close expiry is.
constexpr std::chrono::seconds kMinRetryDelay{1};

using common::av;

absl::Status withContext(const absl::Status& status, std::string_view context) {
  return absl::Status(status.code(), absl::StrCat(av(context), ": ", status.message()));
}

std::chrono::nanoseconds scale(std::chrono::nanoseconds duration, double factor) {
  return std::chrono::nanoseconds(
      static_cast<int64_t>(static_cast<double>(duration.count()) * factor));
}

}  // namespace

TokenManager::TokenManager(VaultTransport& transport, AuthenticatorPtr authenticator,
                           common::Clock& clock, TokenManagerOptions options)
    : transport_(transport),
      authenticator_(std::move(authenticator)),
      clock_(clock),
      options_(options),
      identity_(authenticator_->identity()),
      last_login_(absl::UnavailableError("no login yet")),
      random_(std::random_device{}()) {}

bool TokenManager::usableLocked(common::MonotonicTime now) const {
  if (!token_.has_value()) {
    return false;
  }
  return !expires_at_.has_value() || now < *expires_at_ - skew_;
}

absl::StatusOr<common::SecretString> TokenManager::token() {
  std::unique_lock lock(mu_);
  if (usableLocked(clock_.monotonicNow())) {
    const bool due = refresh_ != Refresh::kNone && clock_.monotonicNow() >= refresh_at_ &&
                     !login_in_flight_ && !renew_in_flight_;
    if (!due) {
      return *token_;
    }
    const uint64_t generation = login_generation_;
    refreshLocked(lock);
    if (usableLocked(clock_.monotonicNow())) {
      return *token_;
    }
    if (login_generation_ != generation && !last_login_.ok()) {
      // The refresh was a login, it failed, and the old token expired meanwhile: report that
      // failure rather than trying again at once.
      return last_login_;
    }
    // The refresh found the token dead (renew-self said "invalid token"): log in below.
  }

  if (login_in_flight_) {
    ++stats_.login_waits;
    const uint64_t generation = login_generation_;
    login_done_.wait(lock, [&] { return login_generation_ != generation; });
    return last_login_;
  }
  return loginLocked(lock);
}

absl::StatusOr<common::SecretString> TokenManager::loginLocked(std::unique_lock<std::mutex>& lock) {
  login_in_flight_ = true;
  ++stats_.logins;
  // Expiry counts from before the request: the server started the lease no earlier than this.
  const common::MonotonicTime start = clock_.monotonicNow();
  lock.unlock();
  absl::StatusOr<LoginResult> result = callLogin();
  lock.lock();
  login_in_flight_ = false;
  ++login_generation_;
  if (result.ok()) {
    installLocked(*result, start);
    last_login_ = result->token;
  } else {
    ++stats_.login_failures;
    last_login_ = result.status();
    // A re-login ahead of expiry failed: the old token still works, so keep it and try later.
    if (usableLocked(clock_.monotonicNow())) {
      scheduleRetryLocked(clock_.monotonicNow());
    }
  }
  login_done_.notify_all();
  return last_login_;
}

void TokenManager::refreshLocked(std::unique_lock<std::mutex>& lock) {
  if (refresh_ == Refresh::kRelogin) {
    // The result reaches waiters through last_login_; this caller goes on with whatever token is
    // usable afterwards, the old one included.
    (void)loginLocked(lock);
    return;
  }

  renew_in_flight_ = true;
  ++stats_.renewals;
  const common::SecretString token = *token_;
  const common::MonotonicTime start = clock_.monotonicNow();
  lock.unlock();
  absl::StatusOr<LoginResult> renewed = callRenew(token);
  lock.lock();
  renew_in_flight_ = false;
  if (!renewed.ok()) {
    ++stats_.renewal_failures;
  }
  if (!token_.has_value() || !(*token_ == token)) {
    // Invalidated or replaced meanwhile: the answer concerns a token no longer handed out.
    return;
  }

  if (renewed.ok()) {
    const std::chrono::seconds lease = renewed->lease_duration;
    const auto grace = std::chrono::duration_cast<std::chrono::seconds>(
        scale(longest_lease_, options_.grace_fraction));
    if (lease <= std::chrono::seconds(0)) {
      // A renewal without a lease says nothing useful; the old expiry stands. Log in again now.
      refresh_ = Refresh::kRelogin;
      refresh_at_ = start;
      return;
    }
    expires_at_ = start + lease;
    skew_ = std::min<std::chrono::nanoseconds>(options_.expiry_skew, lease / 10);
    longest_lease_ = std::max(longest_lease_, lease);
    retry_delay_ = std::chrono::nanoseconds(0);
    // The max TTL is near (the server capped the lease): renewing again gains little, so log in
    // again at the next due point, still before expiry.
    refresh_ = (lease <= grace || !renewed->renewable) ? Refresh::kRelogin : Refresh::kRenew;
    refresh_at_ = start + renewDelayLocked(lease);
    return;
  }

  switch (renewed.status().code()) {
    case absl::StatusCode::kUnauthenticated:
      // "invalid token": the token is dead (revoked, expired early). Drop it; the caller logs in.
      token_.reset();
      expires_at_.reset();
      refresh_ = Refresh::kNone;
      return;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
      // 400 "past the max TTL", "lease is not renewable", "batch tokens cannot be renewed", or a
      // policy without renew-self: renewing will not work again. Log in again now, while the
      // token still works.
      refresh_ = Refresh::kRelogin;
      (void)loginLocked(lock);
      return;
    default:
      // Vault unreachable, sealed, throttled: keep the token until expiry and try again later.
      scheduleRetryLocked(clock_.monotonicNow());
      return;
  }
}

void TokenManager::installLocked(const LoginResult& result, common::MonotonicTime start) {
  // Token auth's "login" hands back the token we already hold: nothing more can be gained from
  // refreshing it before it expires.
  const bool same_token = token_.has_value() && *token_ == result.token;
  token_ = result.token;
  retry_delay_ = std::chrono::nanoseconds(0);
  if (result.lease_duration <= std::chrono::seconds(0)) {
    // Never expires (a root token); nothing to renew.
    expires_at_.reset();
    skew_ = std::chrono::nanoseconds(0);
    longest_lease_ = std::chrono::seconds(0);
    refresh_ = Refresh::kNone;
    return;
  }
  expires_at_ = start + result.lease_duration;
  skew_ = std::min<std::chrono::nanoseconds>(options_.expiry_skew, result.lease_duration / 10);
  longest_lease_ =
      same_token ? std::max(longest_lease_, result.lease_duration) : result.lease_duration;
  if (same_token) {
    refresh_ = Refresh::kNone;
  } else {
    refresh_ = result.renewable ? Refresh::kRenew : Refresh::kRelogin;
  }
  refresh_at_ = start + renewDelayLocked(result.lease_duration);
}

void TokenManager::scheduleRetryLocked(common::MonotonicTime now) {
  retry_delay_ = retry_delay_ == std::chrono::nanoseconds(0)
                     ? std::chrono::nanoseconds(options_.retry_initial)
                     : std::min<std::chrono::nanoseconds>(retry_delay_ * 2, options_.retry_max);
  std::uniform_real_distribution<double> jitter(0.8, 1.0);
  std::chrono::nanoseconds delay = scale(retry_delay_, jitter(random_));
  if (expires_at_.has_value()) {
    // Leave room for at least one more attempt before the token expires.
    const std::chrono::nanoseconds left = (*expires_at_ - skew_) - now;
    delay = std::min(delay, left / 2);
  }
  refresh_at_ = now + std::max<std::chrono::nanoseconds>(delay, kMinRetryDelay);
}

std::chrono::nanoseconds TokenManager::renewDelayLocked(std::chrono::seconds lease) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double factor = options_.renew_fraction * (1.0 - options_.renew_jitter * unit(random_));
  return scale(lease, factor);
}

absl::StatusOr<LoginResult> TokenManager::callLogin() {
  // Nothing below is meant to throw; should it (a JSON encoder fault, bad_alloc), waiters must
  // still be released, so the exception becomes an error here instead of unwinding past them.
  try {
    return authenticator_->login(transport_);
  } catch (const std::exception&) {
    return absl::InternalError(absl::StrCat("login for ", identity_, " failed unexpectedly"));
  }
}

absl::StatusOr<LoginResult> TokenManager::callRenew(const common::SecretString& token) {
  const std::string context = absl::StrCat("renewing the token of ", identity_);
  try {
    VaultCall call;
    call.method = "POST";
    call.path = std::string(kRenewSelfPath);
    call.body = nlohmann::json::object();
    if (options_.renew_increment > std::chrono::seconds(0)) {
      (*call.body)["increment"] = options_.renew_increment.count();
    }
    call.token = &token;
    absl::StatusOr<VaultReply> reply = transport_.call(call);
    if (!reply.ok()) {
      return withContext(reply.status(), context);
    }
    if (reply->status < 200 || reply->status >= 300) {
      const absl::Status status = statusFromReply(*reply, "POST", kRenewSelfPath);
      if (status.ok()) {
        return absl::UnknownError(
            absl::StrCat(context, ": unexpected HTTP status ", reply->status));
      }
      return withContext(status, context);
    }
    absl::StatusOr<LoginResult> result = parseAuthBlock(reply->body, kRenewSelfPath);
    // The reply's client_token now lives in `result` only.
    common::wipeJsonStrings(reply->body);
    if (!result.ok()) {
      return withContext(result.status(), context);
    }
    return result;
  } catch (const std::exception&) {
    return absl::InternalError(absl::StrCat(context, ": failed unexpectedly"));
  }
}

void TokenManager::invalidate(const common::SecretString& token) {
  std::lock_guard lock(mu_);
  if (token_.has_value() && *token_ == token) {
    token_.reset();
    expires_at_.reset();
    refresh_ = Refresh::kNone;
    ++stats_.invalidations;
  }
}

std::optional<std::chrono::seconds> TokenManager::remainingTtl() const {
  std::lock_guard lock(mu_);
  if (!token_.has_value() || !expires_at_.has_value()) {
    return std::nullopt;
  }
  const auto left =
      std::chrono::duration_cast<std::chrono::seconds>(*expires_at_ - clock_.monotonicNow());
  return std::max(left, std::chrono::seconds(0));
}

TokenManagerStats TokenManager::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace secretsync::store::vault
