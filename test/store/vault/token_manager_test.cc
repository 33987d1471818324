#include "pkg/store/vault/token_manager.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/store/vault/authenticators.h"
#include "pkg/store/vault/jwt_source.h"
#include "test/mocks/store/vault/auth_fakes.h"
#include "test/support/manual_clock.h"

namespace secretsync::store::vault {
namespace {

using test::authReply;
using test::errorReply;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kLogin[] = "auth/kubernetes/login";
constexpr char kRenew[] = "auth/token/renew-self";
constexpr char kLookup[] = "auth/token/lookup-self";

// A Vault whose Kubernetes login issues "tok-1", "tok-2", ... with a lease and renewability the
// test sets, and whose renew-self answers as the test scripts it.
class TokenManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    transport_.on("POST", kLogin, [this](const VaultCall& call) -> absl::StatusOr<VaultReply> {
      if (login_gate_ != nullptr) {
        login_gate_->wait();
      }
      std::lock_guard lock(mu_);
      if (!login_error_.ok()) {
        return login_error_;
      }
      if (login_reply_status_ != 200) {
        return errorReply(login_reply_status_, {"permission denied"}, true);
      }
      EXPECT_EQ(call.token, nullptr);
      ++issued_;
      return authReply("tok-" + std::to_string(issued_), login_lease_, login_renewable_);
    });
    transport_.on("POST", kRenew, [this](const VaultCall& call) -> absl::StatusOr<VaultReply> {
      std::lock_guard lock(mu_);
      EXPECT_NE(call.token, nullptr);
      if (renew_reply_status_ != 200) {
        return errorReply(renew_reply_status_, renew_errors_);
      }
      return authReply(call.token->reveal(), renew_lease_, true);
    });
  }

  std::unique_ptr<TokenManager> makeManager(TokenManagerOptions options = {}) {
    KubernetesAuthConfig config;
    config.role = "app";
    config.jwt = makeStaticJwtSource(common::SecretString("the.sa.jwt"), "sa:team/app");
    absl::StatusOr<AuthenticatorPtr> auth = makeKubernetesAuthenticator(std::move(config));
    EXPECT_TRUE(auth.ok());
    return std::make_unique<TokenManager>(transport_, std::move(auth).value(), clock_, options);
  }

  std::string tokenOf(TokenManager& manager) {
    absl::StatusOr<common::SecretString> token = manager.token();
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? token->reveal() : "<error>";
  }

  void setLogin(int64_t lease, bool renewable) {
    std::lock_guard lock(mu_);
    login_lease_ = lease;
    login_renewable_ = renewable;
  }
  void setRenew(int status, int64_t lease, std::vector<std::string> errors = {}) {
    std::lock_guard lock(mu_);
    renew_reply_status_ = status;
    renew_lease_ = lease;
    renew_errors_ = std::move(errors);
  }
  void setLoginStatus(int status) {
    std::lock_guard lock(mu_);
    login_reply_status_ = status;
  }

  int logins() const { return transport_.count("POST", kLogin); }
  int renewals() const { return transport_.count("POST", kRenew); }

  test::ManualClock clock_;
  test::ScriptedAuthTransport transport_;
  // Set before the threads that log in start; read by the login handler.
  test::AuthGate* login_gate_ = nullptr;

  std::mutex mu_;
  int issued_ = 0;
  int64_t login_lease_ = 60;
  bool login_renewable_ = true;
  int login_reply_status_ = 200;
  absl::Status login_error_;
  int renew_reply_status_ = 200;
  int64_t renew_lease_ = 60;
  std::vector<std::string> renew_errors_;
};

TEST_F(TokenManagerTest, FirstCallLogsInThenReusesTheToken) {
  auto manager = makeManager();
  EXPECT_EQ(manager->remainingTtl(), std::nullopt);
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(logins(), 1);
  EXPECT_EQ(manager->remainingTtl(), std::chrono::seconds(60));
  clock_.advance(std::chrono::seconds(20));
  EXPECT_EQ(manager->remainingTtl(), std::chrono::seconds(40));
  EXPECT_EQ(manager->identity(), "kubernetes:kubernetes:app:static:sa:team/app");
}

TEST_F(TokenManagerTest, RenewsAtAboutTwoThirdsOfTheLease) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");

  // Before the renewal window (jitter puts it between 0.6 and 2/3 of the lease): nothing.
  clock_.advance(std::chrono::seconds(35));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 0);

  // Past 2/3: one caller renews with the current token; the token stays.
  clock_.advance(std::chrono::seconds(6));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 1);
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 1);
  const auto calls = transport_.calls();
  EXPECT_EQ(calls.back().path, kRenew);
  EXPECT_EQ(calls.back().token, std::optional<std::string>("tok-1"));

  // The renewed lease (60 s from t=41) carries the token past its first expiry (t=60).
  clock_.advance(std::chrono::seconds(30));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(logins(), 1);
  EXPECT_EQ(renewals(), 1);

  // And it is renewed again at 2/3 of the new lease (t=41+40).
  clock_.advance(std::chrono::seconds(11));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 2);
  EXPECT_EQ(logins(), 1);
  EXPECT_EQ(manager->stats().renewals, 2u);
}

TEST_F(TokenManagerTest, SendsTheRenewIncrement) {
  TokenManagerOptions options;
  options.renew_increment = std::chrono::hours(1);
  auto manager = makeManager(options);
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  clock_.advance(std::chrono::seconds(41));
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  const auto calls = transport_.calls();
  ASSERT_EQ(calls.back().path, kRenew);
  EXPECT_EQ(*calls.back().body, (nlohmann::json{{"increment", 3600}}));
}

TEST_F(TokenManagerTest, CappedRenewalLogsInAgainBeforeExpiry) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  // The max TTL is near: renew-self grants only 5 s of the 60 s asked (<= grace).
  setRenew(200, 5);
  clock_.advance(std::chrono::seconds(41));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 1);
  EXPECT_EQ(manager->remainingTtl(), std::chrono::seconds(5));

  // At the next due point (2/3 of the 5 s) the manager logs in instead of renewing, while the
  // old token is still valid (it expires at t=46).
  clock_.advance(std::chrono::seconds(4));
  EXPECT_EQ(tokenOf(*manager), "tok-2");
  EXPECT_EQ(logins(), 2);
  EXPECT_EQ(renewals(), 1);
}

TEST_F(TokenManagerTest, ExpiredTokenLogsInAgain) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(tokenOf(*manager), "tok-2");
  EXPECT_EQ(logins(), 2);
  EXPECT_EQ(renewals(), 0);
}

TEST_F(TokenManagerTest, TokenCountsAsExpiredShortlyBeforeItsLeaseEnds) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  // Renewal fails for good (Vault down), so only expiry can replace the token; 60 s lease with a
  // 6 s skew (a tenth of the lease).
  setRenew(503, 0, {"Vault is sealed"});
  clock_.advance(std::chrono::seconds(55));
  EXPECT_EQ(tokenOf(*manager), "tok-2");
}

TEST_F(TokenManagerTest, NonRenewableTokenIsReplacedByALoginAtTwoThirds) {
  setLogin(60, /*renewable=*/false);
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  clock_.advance(std::chrono::seconds(41));
  EXPECT_EQ(tokenOf(*manager), "tok-2");
  EXPECT_EQ(renewals(), 0);
  EXPECT_EQ(logins(), 2);
}

TEST_F(TokenManagerTest, RenewalRefusedWith400LogsInAgainAtOnce) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  setRenew(400, 0, {"past the max TTL, cannot renew"});
  clock_.advance(std::chrono::seconds(41));
  EXPECT_EQ(tokenOf(*manager), "tok-2");
  EXPECT_EQ(renewals(), 1);
  EXPECT_EQ(logins(), 2);
}

TEST_F(TokenManagerTest, RenewalAnsweredInvalidTokenDropsTheToken) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  setRenew(403, 0, {"permission denied", "invalid token"});
  clock_.advance(std::chrono::seconds(41));
  EXPECT_EQ(tokenOf(*manager), "tok-2");
  EXPECT_EQ(logins(), 2);
}

TEST_F(TokenManagerTest, UnavailableRenewalKeepsTheTokenAndBacksOff) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  setRenew(503, 0, {"Vault is sealed"});
  clock_.advance(std::chrono::seconds(41));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 1);

  // Not retried by every caller: only after a backoff delay.
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  clock_.advance(std::chrono::milliseconds(900));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 1);

  // The retry comes before expiry (half the time left at most: t=41 + 6.5 s).
  clock_.advance(std::chrono::seconds(6));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 2);
  EXPECT_EQ(logins(), 1);

  // Vault is back: the next retry renews and the token lives on.
  setRenew(200, 60);
  clock_.advance(std::chrono::seconds(4));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(renewals(), 3);
  clock_.advance(std::chrono::seconds(20));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(logins(), 1);
}

TEST_F(TokenManagerTest, FailedReloginAheadOfExpiryKeepsTheOldToken) {
  setLogin(60, /*renewable=*/false);
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  setLoginStatus(503);
  clock_.advance(std::chrono::seconds(41));
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(logins(), 2);
  // Not retried at once.
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(logins(), 2);
  setLoginStatus(200);
  clock_.advance(std::chrono::seconds(8));
  EXPECT_EQ(tokenOf(*manager), "tok-2");
  EXPECT_EQ(logins(), 3);
}

TEST_F(TokenManagerTest, ExpiredTokenCausesExactlyOneLoginWhileFiftyThreadsWait) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  clock_.advance(std::chrono::seconds(61));

  test::AuthGate gate;
  login_gate_ = &gate;
  constexpr int kThreads = 50;
  std::vector<std::string> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { got[i] = tokenOf(*manager); });
  }
  // One thread is inside the login, the other 49 wait for it.
  ASSERT_TRUE(gate.awaitWaiting(1));
  ASSERT_TRUE(test::eventually([&] { return manager->stats().login_waits == kThreads - 1; }));
  gate.open();
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (const std::string& token : got) {
    EXPECT_EQ(token, "tok-2");
  }
  EXPECT_EQ(logins(), 2);
  EXPECT_EQ(manager->stats().logins, 2u);
}

TEST_F(TokenManagerTest, LoginFailureReachesEveryWaiterThenTheNextCallRetries) {
  auto manager = makeManager();
  setLoginStatus(403);
  test::AuthGate gate;
  login_gate_ = &gate;
  constexpr int kThreads = 20;
  std::vector<absl::Status> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { got[i] = manager->token().status(); });
  }
  ASSERT_TRUE(gate.awaitWaiting(1));
  ASSERT_TRUE(test::eventually([&] { return manager->stats().login_waits == kThreads - 1; }));
  gate.open();
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (const absl::Status& status : got) {
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(status.message(), HasSubstr("\"app\""));
    EXPECT_THAT(status.message(), Not(HasSubstr("the.sa.jwt")));
  }
  EXPECT_EQ(logins(), 1);

  setLoginStatus(200);
  EXPECT_EQ(tokenOf(*manager), "tok-1");
  EXPECT_EQ(logins(), 2);
}

TEST_F(TokenManagerTest, InvalidateWithAnOldTokenAfterReloginDoesNothing) {
  auto manager = makeManager();
  const common::SecretString old_token(tokenOf(*manager));
  manager->invalidate(old_token);
  EXPECT_EQ(tokenOf(*manager), "tok-2");
  EXPECT_EQ(logins(), 2);

  // Late reports about tok-1 change nothing.
  for (int i = 0; i < 49; ++i) {
    manager->invalidate(old_token);
  }
  EXPECT_EQ(tokenOf(*manager), "tok-2");
  EXPECT_EQ(logins(), 2);
  EXPECT_EQ(manager->stats().invalidations, 1u);

  manager->invalidate(common::SecretString("tok-2"));
  EXPECT_EQ(tokenOf(*manager), "tok-3");
}

TEST_F(TokenManagerTest, FiftyCallersRefusedWithTheSameTokenCauseOneRelogin) {
  auto manager = makeManager();
  const common::SecretString old_token(tokenOf(*manager));
  constexpr int kThreads = 50;
  std::atomic<int> ready{0};
  std::vector<std::string> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kThreads) {
        std::this_thread::yield();
      }
      // Each caller's request was refused with the old token: report it, get a fresh one.
      manager->invalidate(old_token);
      got[i] = tokenOf(*manager);
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (const std::string& token : got) {
    EXPECT_EQ(token, "tok-2");
  }
  EXPECT_EQ(logins(), 2);
}

TEST_F(TokenManagerTest, ConcurrentCallersShareOneRenewal) {
  auto manager = makeManager();
  ASSERT_EQ(tokenOf(*manager), "tok-1");
  clock_.advance(std::chrono::seconds(41));
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] { EXPECT_EQ(tokenOf(*manager), "tok-1"); });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(renewals(), 1);
  EXPECT_EQ(logins(), 1);
}

// Token auth: the "login" is lookup-self with the given token.
class StaticTokenManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<TokenManager> makeManager() {
    absl::StatusOr<AuthenticatorPtr> auth =
        makeTokenAuthenticator(TokenAuthConfig{common::SecretString("hvs.static")});
    EXPECT_TRUE(auth.ok());
    return std::make_unique<TokenManager>(transport_, std::move(auth).value(), clock_);
  }
  int lookups() const { return transport_.count("GET", kLookup); }

  test::ManualClock clock_;
  test::ScriptedAuthTransport transport_;
};

TEST_F(StaticTokenManagerTest, RootTokenIsValidatedOnceAndNeverExpires) {
  transport_.on("GET", kLookup,
                [](const VaultCall&) { return test::lookupSelfReply(0, std::nullopt); });
  auto manager = makeManager();
  EXPECT_EQ(manager->token()->reveal(), "hvs.static");
  clock_.advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(manager->token()->reveal(), "hvs.static");
  EXPECT_EQ(lookups(), 1);
  EXPECT_EQ(transport_.count("POST", kRenew), 0);
  EXPECT_EQ(manager->remainingTtl(), std::nullopt);
}

TEST_F(StaticTokenManagerTest, InvalidatedTokenIsRevalidatedOnceAndFailsClearly) {
  std::atomic<bool> revoked{false};
  transport_.on("GET", kLookup, [&](const VaultCall&) {
    if (revoked) {
      return errorReply(403, {"permission denied", "invalid token"}, true);
    }
    return test::lookupSelfReply(0, std::nullopt);
  });
  auto manager = makeManager();
  const common::SecretString token = *manager->token();
  revoked = true;
  manager->invalidate(token);

  const absl::StatusOr<common::SecretString> again = manager->token();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(again.status().message(), HasSubstr("token auth"));
  EXPECT_THAT(again.status().message(), Not(HasSubstr("hvs.static")));
  EXPECT_EQ(lookups(), 2);

  // No loop: each later call makes exactly one more attempt.
  EXPECT_FALSE(manager->token().ok());
  EXPECT_EQ(lookups(), 3);
}

TEST_F(StaticTokenManagerTest, RenewableTokenRenewsThenStopsAtItsMaxTtl) {
  std::atomic<int64_t> ttl{60};
  transport_.on("GET", kLookup, [&](const VaultCall&) { return test::lookupSelfReply(ttl, true); });
  std::atomic<int64_t> granted{60};
  transport_.on("POST", kRenew, [&](const VaultCall& call) {
    return authReply(call.token->reveal(), granted, true);
  });
  auto manager = makeManager();
  ASSERT_EQ(manager->token()->reveal(), "hvs.static");
  clock_.advance(std::chrono::seconds(41));
  ASSERT_EQ(manager->token()->reveal(), "hvs.static");
  EXPECT_EQ(transport_.count("POST", kRenew), 1);

  // The max TTL caps the next renewal to 4 s: a re-validation follows, which hands back the same
  // token, and after that nothing more is attempted until it expires.
  granted = 4;
  ttl = 2;
  clock_.advance(std::chrono::seconds(41));
  ASSERT_EQ(manager->token()->reveal(), "hvs.static");
  EXPECT_EQ(transport_.count("POST", kRenew), 2);
  clock_.advance(std::chrono::seconds(3));
  ASSERT_EQ(manager->token()->reveal(), "hvs.static");
  EXPECT_EQ(lookups(), 2);
  ASSERT_EQ(manager->token()->reveal(), "hvs.static");
  EXPECT_EQ(lookups(), 2);
  EXPECT_EQ(transport_.count("POST", kRenew), 2);
}

}  // namespace
}  // namespace secretsync::store::vault
