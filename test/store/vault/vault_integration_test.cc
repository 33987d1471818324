// The Vault StoreClient as assembled for production (libcurl client, transport with retries,
// TokenManager, KV client, Fetcher) against the Vault double over real TCP and real TLS.
// Time that the client and the double agree on (token TTLs, Retry-After) is a shared ManualClock,
// so nothing here sleeps to expire a token; HTTP itself is real.

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/store/fetcher.h"
#include "pkg/store/vault/jwt_source.h"
#include "pkg/store/vault/vault_store.h"
#include "test/support/manual_clock.h"
#include "test/support/test_pki.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::store::vault {
namespace {

using std::chrono::seconds;
using test::VaultDouble;

constexpr char kJwtKey[] = "integration-test-signing-key";

// One CurlGlobal for the whole binary, before any thread starts.
const common::http::CurlGlobal& curlGlobal() {
  static const auto* const global = new common::http::CurlGlobal();
  return *global;
}

class VaultIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curlGlobal();
    test::VaultDoubleOptions options;
    options.clock = &clock_;
    auto vault = VaultDouble::start(options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(vault_->mountKv("team/kv", 2).ok());
    ASSERT_TRUE(vault_->mountKv("legacy", 1).ok());
    vault_->putPolicy("reader", {{"secret/data/app*", {test::vault::Capability::kRead}},
                                 {"secret/metadata/*",
                                  {test::vault::Capability::kRead, test::vault::Capability::kList}},
                                 {"team/kv/data/*", {test::vault::Capability::kRead}},
                                 {"legacy/*", {test::vault::Capability::kRead}}});
    vault_->enableKubernetesAuth("kubernetes", {.jwt_hs256_key = kJwtKey});
    ASSERT_TRUE(vault_
                    ->addKubernetesRole("kubernetes", {.name = "app",
                                                       .bound_service_account_names = {"app"},
                                                       .bound_service_account_namespaces = {"prod"},
                                                       .policies = {"reader"},
                                                       .token_ttl = seconds(60),
                                                       .token_max_ttl = seconds(300)})
                    .ok());
  }

  // Transport options that keep retries quick in wall time (waits go to the ManualClock anyway).
  VaultStoreConfig baseConfig() {
    VaultStoreConfig config;
    config.address = vault_->baseUrl();
    config.transport.request_timeout = std::chrono::milliseconds(10'000);
    return config;
  }

  std::unique_ptr<VaultStore> tokenStore(const std::string& token) {
    VaultStoreConfig config = baseConfig();
    config.auth = TokenAuthConfig{common::SecretString(token)};
    auto store = VaultStore::create(std::move(config), clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string jwtFor(const std::string& ns, const std::string& sa) {
    return test::mintServiceAccountJwt(kJwtKey, ns, sa, {"vault"},
                                       clock_.now() + std::chrono::hours(1));
  }

  std::unique_ptr<VaultStore> kubernetesStore(const std::string& role, const std::string& jwt) {
    VaultStoreConfig config = baseConfig();
    config.auth = KubernetesAuthConfig{"kubernetes", role,
                                       makeStaticJwtSource(common::SecretString(jwt), "sa")};
    auto store = VaultStore::create(std::move(config), clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  test::ManualClock clock_;
  std::unique_ptr<VaultDouble> vault_;
};

// Validate every read case of reference §1.3 through the real client.
TEST_F(VaultIntegrationTest, ReadCases) {
  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"user", "u1"}, {"pass", "p1"}}).ok());
  ASSERT_TRUE(
      vault_->putSecret("secret", "app/db", {{"user", "u2"}, {"pass", "p2"}, {"n", 3}}).ok());
  ASSERT_TRUE(vault_->putSecret("secret", "app/gone", {{"k", "v"}}).ok());
  ASSERT_TRUE(vault_->deleteVersions("secret", "app/gone", {1}).ok());
  ASSERT_TRUE(vault_->putSecret("secret", "app/burnt", {{"k", "v"}}).ok());
  ASSERT_TRUE(vault_->destroyVersions("secret", "app/burnt", {1}).ok());
  ASSERT_TRUE(vault_->setCustomMetadata("secret", "app/db", {{"owner", "team-a"}}).ok());
  auto store = tokenStore(vault_->rootToken());
  ASSERT_NE(store, nullptr);

  auto current = store->read({.path = "secret/app/db"});
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->version, 2);
  EXPECT_EQ(current->data["user"], "u2");
  EXPECT_EQ(current->data["n"], 3);  // non-string values survive as JSON
  EXPECT_EQ(current->custom_metadata.at("owner"), "team-a");

  auto pinned = store->read({.path = "secret/app/db", .version = 1});
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ(pinned->version, 1);
  EXPECT_EQ(pinned->data["user"], "u1");

  const auto above = store->read({.path = "secret/app/db", .version = 9});
  EXPECT_EQ(notFoundReason(above.status()), NotFoundReason::Missing) << above.status();
  const auto missing = store->read({.path = "secret/app/none"});
  EXPECT_EQ(notFoundReason(missing.status()), NotFoundReason::Missing) << missing.status();
  EXPECT_NE(missing.status().message().find("secret/app/none"), std::string::npos);
  const auto deleted = store->read({.path = "secret/app/gone"});
  EXPECT_EQ(notFoundReason(deleted.status()), NotFoundReason::Deleted) << deleted.status();
  const auto destroyed = store->read({.path = "secret/app/burnt"});
  EXPECT_EQ(notFoundReason(destroyed.status()), NotFoundReason::Destroyed) << destroyed.status();
}

// Validate KV v1, a multi-segment KV v2 mount, metadata and the recursive list.
TEST_F(VaultIntegrationTest, MountsMetadataAndList) {
  ASSERT_TRUE(vault_->putSecret("legacy", "app/config", {{"url", "https://x"}}).ok());
  ASSERT_TRUE(vault_->putSecret("team/kv", "app/db", {{"password", "p"}}).ok());
  for (const char* path : {"app/a", "app/b/c", "app/b/d/e", "other/x"}) {
    ASSERT_TRUE(vault_->putSecret("secret", path, {{"k", "v"}}).ok());
  }
  auto store = tokenStore(vault_->rootToken());
  ASSERT_NE(store, nullptr);

  auto v1 = store->read({.path = "legacy/app/config"});
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->version, 0);
  EXPECT_EQ(v1->data["url"], "https://x");
  EXPECT_EQ(store->read({.path = "legacy/app/config", .version = 1}).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto multi = store->read({.path = "team/kv/app/db"});
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ(multi->version, 1);
  EXPECT_EQ(vault_->requestCount("GET", "team/kv/data/app/db"), 1u);

  auto metadata = store->readMetadata("secret/app/b/c");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->current_version, 1);
  EXPECT_EQ(metadata->versions.size(), 1u);

  auto keys = store->list("secret/app", /*recursive=*/true);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (std::vector<std::string>{"a", "b/c", "b/d/e"}));
  auto none = store->list("secret/nothing", /*recursive=*/true);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

// Validate that a policy without read gives PermissionDenied naming the path, and no value leaks.
TEST_F(VaultIntegrationTest, PermissionDeniedNamesPath) {
  ASSERT_TRUE(vault_->putSecret("secret", "ops/root", {{"k", "top-secret-value"}}).ok());
  auto store = tokenStore(vault_->createToken({"reader"}, seconds(600)));
  ASSERT_NE(store, nullptr);
  const auto denied = store->read({.path = "secret/ops/root"});
  ASSERT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied) << denied.status();
  EXPECT_NE(denied.status().message().find("secret/ops/root"), std::string::npos);
  EXPECT_EQ(denied.status().ToString().find("top-secret-value"), std::string::npos);
}

// Validate the auth cases of reference §2.3–2.5: Kubernetes, AppRole and JWT logins and their
// refusals, with the right codes.
TEST_F(VaultIntegrationTest, LoginCases) {
  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"k", "v"}}).ok());

  auto good = kubernetesStore("app", jwtFor("prod", "app"));
  ASSERT_TRUE(good->read({.path = "secret/app/db"}).ok());
  EXPECT_EQ(vault_->loginSuccessCount("kubernetes"), 1u);

  EXPECT_EQ(kubernetesStore("nope", jwtFor("prod", "app"))
                ->read({.path = "secret/app/db"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);  // unknown role: 400
  EXPECT_EQ(kubernetesStore("app", jwtFor("prod", "intruder"))
                ->read({.path = "secret/app/db"})
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);  // service account not bound: 403
  EXPECT_EQ(
      kubernetesStore("app", jwtFor("dev", "app"))->read({.path = "secret/app/db"}).status().code(),
      absl::StatusCode::kPermissionDenied);  // namespace not bound: 403
  const std::string forged = test::mintServiceAccountJwt("wrong-key", "prod", "app", {"vault"},
                                                         clock_.now() + seconds(60));
  EXPECT_EQ(kubernetesStore("app", forged)->read({.path = "secret/app/db"}).status().code(),
            absl::StatusCode::kPermissionDenied);  // signature check fails: 403

  ASSERT_TRUE(vault_
                  ->addAppRole({.name = "ci",
                                .role_id = "role-123",
                                .secret_ids = {"sid-456"},
                                .policies = {"reader"}})
                  .ok());
  for (const auto& [secret_id, code] : std::vector<std::pair<std::string, absl::StatusCode>>{
           {"sid-456", absl::StatusCode::kOk}, {"wrong", absl::StatusCode::kInvalidArgument}}) {
    VaultStoreConfig config = baseConfig();
    config.auth = AppRoleAuthConfig{"approle", "role-123", common::SecretString(secret_id)};
    auto store = VaultStore::create(std::move(config), clock_);
    ASSERT_TRUE(store.ok());
    const auto read = (*store)->read({.path = "secret/app/db"});
    EXPECT_EQ(read.status().code(), code) << read.status();
    EXPECT_EQ(read.status().ToString().find(secret_id == "wrong" ? "wrong" : "sid-456"),
              std::string::npos);
  }

  vault_->enableJwtAuth("jwt", {.hs256_key = kJwtKey});
  ASSERT_TRUE(
      vault_
          ->addJwtRole("jwt", {.name = "ci", .bound_audiences = {"vault"}, .policies = {"reader"}})
          .ok());
  for (const auto& [key, code] : std::vector<std::pair<std::string, absl::StatusCode>>{
           {kJwtKey, absl::StatusCode::kOk}, {"wrong-key", absl::StatusCode::kInvalidArgument}}) {
    VaultStoreConfig config = baseConfig();
    config.auth =
        JwtAuthConfig{"jwt", "ci",
                      makeStaticJwtSource(common::SecretString(test::mintServiceAccountJwt(
                          key, "prod", "app", {"vault"}, clock_.now() + seconds(600))))};
    auto store = VaultStore::create(std::move(config), clock_);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->read({.path = "secret/app/db"}).status().code(), code);
  }
}

// Validate §2.6: renew-self at about 2/3 of the TTL, then a new login once the max TTL is near,
// and no read ever fails across it.
TEST_F(VaultIntegrationTest, RenewsThenLogsInAgainAtMaxTtl) {
  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"k", "v"}}).ok());
  auto store = kubernetesStore("app", jwtFor("prod", "app"));
  for (int step = 0; step < 12; ++step) {  // 12 × 45 s = 9 min, past the 5 min max TTL
    auto read = store->read({.path = "secret/app/db"});
    ASSERT_TRUE(read.ok()) << "step " << step << ": " << read.status();
    clock_.advance(seconds(45));
  }
  EXPECT_GE(vault_->requestCount("POST", "auth/token/renew-self") +
                vault_->requestCount("PUT", "auth/token/renew-self"),
            2u);
  EXPECT_GE(vault_->loginSuccessCount("kubernetes"), 2u);
}

// Validate that a revoked token ("invalid token") leads to one new login and a successful read.
TEST_F(VaultIntegrationTest, InvalidTokenLogsInAgain) {
  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"k", "v"}}).ok());
  auto store = kubernetesStore("app", jwtFor("prod", "app"));
  ASSERT_TRUE(store->read({.path = "secret/app/db"}).ok());
  // Revoke the token the client holds, as an operator's `vault token revoke` would.
  const auto last = vault_->lastRequest();
  ASSERT_TRUE(last.has_value());
  const auto token = last->header("x-vault-token");
  ASSERT_TRUE(token.has_value());
  ASSERT_TRUE(vault_->revokeToken(*token));
  vault_->resetCounters();
  auto read = store->read({.path = "secret/app/db"});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(vault_->loginCount("kubernetes"), 1u);
}

// Validate that a storm of 503s with Retry-After is ridden out within the retry budget, honouring
// the header.
TEST_F(VaultIntegrationTest, RidesOut503StormWithRetryAfter) {
  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"k", "v"}}).ok());
  auto store = tokenStore(vault_->rootToken());
  ASSERT_TRUE(store->read({.path = "secret/app/db"}).ok());  // preflight done
  test::vault::FaultRule storm = test::vault::FaultRule::error(503, "Vault is sealed", 2);
  storm.path_prefix = "secret/data/app/db";
  storm.retry_after = "3";
  const uint64_t fault = vault_->addFault(storm);
  vault_->resetCounters();
  const auto slept_before = clock_.totalSlept();

  auto read = store->read({.path = "secret/app/db"});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(vault_->faultHits(fault), 2u);
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 3u);
  EXPECT_GE(clock_.totalSlept() - slept_before, seconds(6));  // 2 × Retry-After: 3

  // A storm longer than the retry budget fails with kUnavailable, naming the path.
  vault_->addFault(test::vault::FaultRule::error(503, "Vault is sealed", 10));
  const auto failed = store->read({.path = "secret/app/db"});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
}

// Validate that an expired token leads to exactly one re-login while 50 readers wait for it.
TEST_F(VaultIntegrationTest, ExpiredTokenOneReloginFor50Readers) {
  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"k", "v"}}).ok());
  auto store = kubernetesStore("app", jwtFor("prod", "app"));
  ASSERT_TRUE(store->read({.path = "secret/app/db"}).ok());
  ASSERT_EQ(vault_->loginCount("kubernetes"), 1u);
  clock_.advance(seconds(400));  // past TTL and max TTL: the token is gone on both sides
  // A slow login makes sure the readers pile up behind it.
  test::vault::FaultRule slow = test::vault::FaultRule::latencyOnly(std::chrono::milliseconds(300));
  slow.path_prefix = "auth/kubernetes/login";
  vault_->addFault(slow);

  std::atomic<int> ok{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 50; ++i) {
    readers.emplace_back([&] {
      if (store->read({.path = "secret/app/db"}).ok()) {
        ++ok;
      }
    });
  }
  for (auto& reader : readers) {
    reader.join();
  }
  EXPECT_EQ(ok.load(), 50);
  EXPECT_EQ(vault_->loginCount("kubernetes"), 2u);
  EXPECT_GE(store->tokens().stats().login_waits, 1u);
}

// Validate that 200 concurrent reads of one path through the Fetcher cost one HTTP request.
TEST_F(VaultIntegrationTest, TwoHundredConcurrentReadsOneRequest) {
  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"k", "v"}}).ok());
  auto store = tokenStore(vault_->rootToken());
  ASSERT_TRUE(store->readMetadata("secret/app/db").ok());  // login and preflight out of the way
  test::vault::FaultRule slow = test::vault::FaultRule::latencyOnly(std::chrono::milliseconds(500));
  slow.path_prefix = "secret/data/app/db";
  vault_->addFault(slow);
  vault_->resetCounters();
  Fetcher fetcher(clock_);

  std::atomic<int> ok{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 200; ++i) {
    readers.emplace_back([&] {
      auto secret = fetcher.read(*store, {.path = "secret/app/db"});
      if (secret.ok() && secret->data["k"] == "v") {
        ++ok;
      }
    });
  }
  for (auto& reader : readers) {
    reader.join();
  }
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 1u);
  EXPECT_EQ(fetcher.stats().store_reads, 1u);
}

// Validate that two identities never share a cached value: what one may read stays its own.
TEST_F(VaultIntegrationTest, IdentitiesNeverShareCache) {
  ASSERT_TRUE(vault_->putSecret("secret", "ops/root", {{"k", "only-for-admins"}}).ok());
  auto admin = tokenStore(vault_->rootToken());
  auto app = tokenStore(vault_->createToken({"reader"}, seconds(600)));
  ASSERT_NE(admin->identity(), app->identity());
  Fetcher fetcher(clock_, {.cache_ttl = std::chrono::milliseconds(60'000)});

  auto as_admin = fetcher.read(*admin, {.path = "secret/ops/root"});
  ASSERT_TRUE(as_admin.ok()) << as_admin.status();
  auto as_app = fetcher.read(*app, {.path = "secret/ops/root"});
  EXPECT_EQ(as_app.status().code(), absl::StatusCode::kPermissionDenied) << as_app.status();
  EXPECT_EQ(fetcher.stats().cache_hits, 0u);
  // And the admin's second read is a cache hit of its own.
  ASSERT_TRUE(fetcher.read(*admin, {.path = "secret/ops/root"}).ok());
  EXPECT_EQ(fetcher.stats().cache_hits, 1u);
}

// Validate that a standby's 307 to another node (another host:port) is refused rather than
// followed, since the token would go with it; the active node is never contacted.
TEST_F(VaultIntegrationTest, RefusesStandbyRedirectToAnotherNode) {
  test::VaultDoubleOptions options;
  options.clock = &clock_;
  auto active = VaultDouble::start(options);
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_TRUE((*active)->putSecret("secret", "app/db", {{"k", "from-active"}}).ok());
  test::vault::FaultRule redirect;
  redirect.path_prefix = "secret/";
  redirect.redirect_to = (*active)->baseUrl();
  vault_->addFault(redirect);

  auto store = tokenStore(vault_->rootToken());
  auto read = store->read({.path = "secret/app/db"});
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition) << read.status();
  EXPECT_NE(read.status().message().find("another host"), absl::string_view::npos);
  EXPECT_EQ((*active)->requestCount(), 0u);
}

class VaultTlsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curlGlobal();
    auto pki = test::TestPki::generate();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }

  void startVault(bool require_client_cert) {
    test::VaultDoubleOptions options;
    options.tls = pki_.serverConfig(require_client_cert);
    auto vault = VaultDouble::start(options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"k", "v"}}).ok());
  }

  absl::Status readWith(common::http::TlsOptions tls, std::string address = "") {
    VaultStoreConfig config;
    config.address = address.empty() ? vault_->baseUrl() : address;
    config.tls = std::move(tls);
    config.transport.max_retries = 0;
    config.auth = TokenAuthConfig{common::SecretString(vault_->rootToken())};
    auto store = VaultStore::create(std::move(config), common::realClock());
    if (!store.ok()) {
      return store.status();
    }
    return (*store)->read({.path = "secret/app/db"}).status();
  }

  test::TestPki pki_;
  std::unique_ptr<VaultDouble> vault_;
};

// Validate that the right CA is accepted and a wrong CA is refused as a TLS failure.
TEST_F(VaultTlsIntegrationTest, WrongCaIsRefused) {
  startVault(/*require_client_cert=*/false);
  EXPECT_TRUE(readWith({.ca_pem = pki_.ca.cert_pem}).ok());
  const absl::Status wrong = readWith({.ca_pem = pki_.other_ca.cert_pem});
  EXPECT_EQ(wrong.code(), absl::StatusCode::kFailedPrecondition) << wrong;
  // No CA given: the system store does not know our test CA either.
  EXPECT_EQ(readWith({}).code(), absl::StatusCode::kFailedPrecondition);
  // A server name override verifies against the certificate's other SAN.
  EXPECT_TRUE(readWith({.ca_pem = pki_.ca.cert_pem, .server_name = "vault.test"}).ok());
  EXPECT_FALSE(readWith({.ca_pem = pki_.ca.cert_pem, .server_name = "elsewhere.test"}).ok());
}

// Validate mutual TLS: with the client certificate the read succeeds, without it it fails.
TEST_F(VaultTlsIntegrationTest, ClientCertificate) {
  startVault(/*require_client_cert=*/true);
  EXPECT_TRUE(readWith({.ca_pem = pki_.ca.cert_pem,
                        .client_cert_pem = pki_.client.cert_pem,
                        .client_key_pem = common::SecretString(pki_.client.key_pem)})
                  .ok());
  EXPECT_FALSE(readWith({.ca_pem = pki_.ca.cert_pem}).ok());
}

}  // namespace
}  // namespace secretsync::store::vault
