// The store resolver against the in-process Vault double: every auth method ESO's Vault provider
// has that secretsync implements, one client (one login) per identity, a new client when the store
// or a credential changes, and the errors for stores that cannot be used.

#include "pkg/sync/store_resolver.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/support/manual_clock.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/vault_double.h"
#include "test/sync/sync_test_util.h"

namespace secretsync::sync {
namespace {

using std::chrono::seconds;
using test::vault::Capability;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::secretStore;

constexpr char kJwtKey[] = "resolver-test-signing-key";

// Secrets and ConfigMaps in memory; TokenRequest mints a JWT the double accepts.
class FakeCredentials final : public CredentialSource {
 public:
  absl::StatusOr<common::SecretString> secretValue(const api::ObjectKeyRef& ref) override {
    std::lock_guard<std::mutex> lock(mu);
    ++secret_reads;
    auto it = secrets.find(ref.namespace_name + "/" + ref.name + "#" + ref.key);
    if (it == secrets.end()) {
      return absl::NotFoundError("Secret \"" + ref.namespace_name + "/" + ref.name + "\" key \"" +
                                 ref.key + "\" not found");
    }
    return common::SecretString(it->second);
  }
  absl::StatusOr<std::string> configMapValue(const api::ObjectKeyRef& ref) override {
    return absl::NotFoundError("ConfigMap \"" + ref.name + "\" not found");
  }
  absl::StatusOr<common::SecretString> requestToken(const api::TokenRequestSpec& spec) override {
    std::lock_guard<std::mutex> lock(mu);
    ++token_requests;
    last_request = spec;
    return common::SecretString(test::mintServiceAccountJwt(kJwtKey, spec.namespace_name,
                                                            spec.service_account, spec.audiences,
                                                            clock->now() + std::chrono::hours(1)));
  }

  common::Clock* clock = nullptr;
  std::mutex mu;
  std::map<std::string, std::string> secrets;  // "ns/name#key" -> value
  int secret_reads = 0;
  int token_requests = 0;
  api::TokenRequestSpec last_request;
};

class StoreResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::initCurl();
    credentials_.clock = &clock_;
    test::VaultDoubleOptions options;
    options.clock = &clock_;
    auto vault = test::VaultDouble::start(options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    vault_->putPolicy("app", {{"secret/data/app/*", {Capability::kRead}}});
    ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"password", "hunter2"}}).ok());
    token_ = vault_->createToken({"app"});
    credentials_.secrets["apps/vault-token#token"] = token_;
    vault_->enableKubernetesAuth("kubernetes", {.jwt_hs256_key = kJwtKey});
    ASSERT_TRUE(vault_
                    ->addKubernetesRole("kubernetes", {.name = "app",
                                                       .bound_service_account_names = {"app"},
                                                       .bound_service_account_namespaces = {"apps"},
                                                       .audience = "vault",
                                                       .policies = {"app"},
                                                       .token_ttl = seconds(3600),
                                                       .token_max_ttl = seconds(7200)})
                    .ok());
    ASSERT_TRUE(vault_
                    ->addAppRole({.name = "ci",
                                  .role_id = "ci-role",
                                  .secret_ids = {"ci-secret"},
                                  .policies = {"app"},
                                  .token_ttl = seconds(3600)})
                    .ok());
  }

  std::string storeYaml(const std::string& kind, const std::string& auth,
                        const std::string& extra_spec = "", const std::string& path = "secret") {
    return "apiVersion: external-secrets.io/v1\nkind: " + kind + "\nmetadata:\n  name: vault\n" +
           (kind == "SecretStore" ? "  namespace: apps\n" : "") + "spec:\n" + extra_spec +
           "  provider:\n    vault:\n      server: " + vault_->baseUrl() + "\n      path: " + path +
           "\n      auth:\n" + auth;
  }

  // Reads secret/app/db through `resolved` and returns its password.
  std::string password(const ResolvedStore& resolved) {
    auto secret = resolved.client->read({"secret/app/db", std::nullopt});
    EXPECT_TRUE(secret.ok()) << secret.status();
    return secret.ok() ? secret->data.value("password", "") : "";
  }

  test::ManualClock clock_;
  std::unique_ptr<test::VaultDouble> vault_;
  std::string token_;
  FakeCredentials credentials_;
  StoreResolver resolver_{credentials_, clock_};
};

const char kTokenAuth[] = "        tokenSecretRef: {name: vault-token, key: token}\n";

// Token auth from a Secret: the same store resolves to the same client, which logs in once.
TEST_F(StoreResolverTest, TokenAuthOneClientPerIdentity) {
  const api::SecretStore store = secretStore(storeYaml("SecretStore", kTokenAuth));
  auto first = resolver_.resolve(store, "apps");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->mount, "secret");
  EXPECT_EQ(first->kv_version, api::VaultKvVersion::kV2);
  EXPECT_EQ(password(*first), "hunter2");
  auto second = resolver_.resolve(store, "apps");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->client.get(), second->client.get());
  EXPECT_EQ(password(*second), "hunter2");
  EXPECT_EQ(vault_->requestCount("GET", "auth/token/lookup-self"), 1u);
  EXPECT_EQ(resolver_.cachedClients(), 1u);
}

// A new credential value or a changed store spec makes a new client; the old one keeps working
// for whoever still holds it.
TEST_F(StoreResolverTest, RebuildsWhenCredentialsOrSpecChange) {
  const api::SecretStore store = secretStore(storeYaml("SecretStore", kTokenAuth));
  auto first = resolver_.resolve(store, "apps");
  ASSERT_TRUE(first.ok()) << first.status();
  credentials_.secrets["apps/vault-token#token"] = vault_->createToken({"app"});
  auto rotated = resolver_.resolve(store, "apps");
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_NE(first->client.get(), rotated->client.get());
  EXPECT_NE(first->client->identity(), rotated->client->identity());
  EXPECT_EQ(password(*first), "hunter2");
  EXPECT_EQ(password(*rotated), "hunter2");

  // ESO's "secret/data" is the mount "secret": the same identity, the same client.
  const api::SecretStore same =
      secretStore(storeYaml("SecretStore", kTokenAuth, "", "secret/data"));
  auto unchanged = resolver_.resolve(same, "apps");
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_EQ(unchanged->client.get(), rotated->client.get());

  ASSERT_TRUE(vault_->mountKv("team").ok());
  const api::SecretStore moved = secretStore(storeYaml("SecretStore", kTokenAuth, "", "team"));
  auto respec = resolver_.resolve(moved, "apps");
  ASSERT_TRUE(respec.ok()) << respec.status();
  EXPECT_NE(respec->client.get(), rotated->client.get());
  EXPECT_EQ(respec->mount, "team");
  EXPECT_EQ(resolver_.cachedClients(), 1u);
  resolver_.forget(api::StoreKind::kSecretStore, "apps", "vault");
  EXPECT_EQ(resolver_.cachedClients(), 0u);
}

// Kubernetes auth with a serviceAccountRef mints a token through the CredentialSource only when
// logging in, for the ExternalSecret's namespace of a ClusterSecretStore.
TEST_F(StoreResolverTest, KubernetesAuthWithTokenRequest) {
  const api::SecretStore store = secretStore(storeYaml("ClusterSecretStore", R"(        kubernetes:
          mountPath: kubernetes
          role: app
          serviceAccountRef: {name: app, audiences: [vault]}
)"));
  auto resolved = resolver_.resolve(store, "apps");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(credentials_.token_requests, 0);
  EXPECT_EQ(password(*resolved), "hunter2");
  EXPECT_EQ(password(*resolved), "hunter2");
  EXPECT_EQ(credentials_.token_requests, 1);
  EXPECT_EQ(credentials_.last_request.namespace_name, "apps");
  EXPECT_EQ(credentials_.last_request.service_account, "app");
  EXPECT_EQ(vault_->loginSuccessCount("kubernetes"), 1u);
  // Used from another namespace, the same ClusterSecretStore is another identity.
  auto other = resolver_.resolve(store, "batch");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->client->identity(), resolved->client->identity());
}

// AppRole with the secret_id from a Secret.
TEST_F(StoreResolverTest, AppRoleAuth) {
  credentials_.secrets["apps/approle#secret-id"] = "ci-secret";
  const api::SecretStore store = secretStore(storeYaml("SecretStore", R"(        appRole:
          path: approle
          roleId: ci-role
          secretRef: {name: approle, key: secret-id}
)"));
  auto resolved = resolver_.resolve(store, "apps");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(password(*resolved), "hunter2");
  EXPECT_EQ(vault_->loginSuccessCount("approle"), 1u);
}

// A missing credential Secret is the source's NotFound, named by the store, without a value;
// the offline fallback token is used only for token auth when the Secret is missing.
TEST_F(StoreResolverTest, MissingCredentialAndFallbackToken) {
  credentials_.secrets.clear();
  const api::SecretStore store = secretStore(storeYaml("SecretStore", kTokenAuth));
  auto missing = resolver_.resolve(store, "apps");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("SecretStore \"apps/vault\": Secret \"apps/vault-token\""));

  StoreResolverOptions options;
  options.fallback_token = common::SecretString(token_);
  StoreResolver offline(credentials_, clock_, options);
  auto resolved = offline.resolve(store, "apps");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(password(*resolved), "hunter2");
  EXPECT_THAT(std::string(missing.status().message()), Not(HasSubstr(token_)));
}

// Stores that may not be used from the namespace are refused before any credential is read.
TEST_F(StoreResolverTest, NamespaceRules) {
  const api::SecretStore store = secretStore(storeYaml("SecretStore", kTokenAuth));
  auto elsewhere = resolver_.resolve(store, "batch");
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kFailedPrecondition);

  const api::SecretStore cluster = secretStore(
      storeYaml("ClusterSecretStore",
                "        tokenSecretRef: {name: vault-token, key: token, namespace: apps}\n",
                "  conditions:\n    - namespaces: [apps]\n"));
  credentials_.secret_reads = 0;
  auto refused = resolver_.resolve(cluster, "batch");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("namespace \"batch\""));
  EXPECT_EQ(credentials_.secret_reads, 0);
  EXPECT_TRUE(resolver_.resolve(cluster, "apps").ok());
}

}  // namespace
}  // namespace secretsync::sync
