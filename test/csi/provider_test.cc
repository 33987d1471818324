// The CSI provider in-process, served on a real unix socket in a temp dir and called through a
// real gRPC client, reading from the Vault double (Kubernetes auth, HS256 pod tokens) over real
// TCP. Time that the provider's cache and the double agree on is a shared ManualClock.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/log.h"
#include "pkg/csi/provider_server.h"
#include "test/csi/csi_test_util.h"
#include "test/csi/csi_vault_setup.h"
#include "test/support/manual_clock.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::csi {
namespace {

using std::chrono::seconds;
using test::vault::Capability;
using ::testing::HasSubstr;
using testing::MountResult;
using ::testing::Not;
using testing::ProviderClient;
using testing::TestPod;

constexpr char kJwtKey[] = "csi-provider-test-signing-key";

class CsiProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::curlGlobal();
    previous_log_ = common::log::configure({.level = common::log::Level::kDebug, .out = &log_});
    test::VaultDoubleOptions options;
    options.clock = &clock_;
    auto vault = test::VaultDouble::start(options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    vault_->putPolicy("public-reader", {{"secret/data/app/public", {Capability::kRead}}});
    ASSERT_TRUE(testing::addAppReaderRole(*vault_, {.jwt_hs256_key = kJwtKey}).ok());
    ASSERT_TRUE(vault_
                    ->addKubernetesRole("kubernetes", {.name = "public",
                                                       .bound_service_account_names = {"other"},
                                                       .bound_service_account_namespaces = {"prod"},
                                                       .policies = {"public-reader"},
                                                       .token_ttl = seconds(3600),
                                                       .token_max_ttl = seconds(7200)})
                    .ok());
    ASSERT_TRUE(
        vault_->putSecret("secret", "app/db", {{"user", "admin"}, {"password", "hunter2-v1"}})
            .ok());
    ASSERT_TRUE(
        vault_->putSecret("secret", "app/db", {{"user", "admin"}, {"password", "hunter2-v2"}})
            .ok());
    ASSERT_TRUE(vault_->putSecret("secret", "app/public", {{"motd", "hello"}}).ok());

    char dir_template[] = "/tmp/secretsync-csi-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    socket_path_ = dir_ + "/secretsync.sock";
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    provider_.reset();
    vault_.reset();
    common::log::configure(previous_log_);
    std::filesystem::remove_all(dir_);
  }

  void startProvider(ProviderOptions options = {}) {
    if (options.default_vault_address.empty()) {
      options.default_vault_address = vault_->baseUrl();
    }
    provider_ = std::make_unique<Provider>(clock_, std::move(options));
    auto server = ProviderServer::start(socket_path_, *provider_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<ProviderClient>(socket_path_);
  }

  TestPod pod(const std::string& name = "app-0", const std::string& service_account = "app") {
    TestPod p;
    p.name = name;
    p.uid = "uid-" + name;
    p.service_account = service_account;
    p.tokens["vault"] = test::mintServiceAccountJwt(kJwtKey, "prod", service_account, {"vault"},
                                                    clock_.now() + std::chrono::hours(1), p.uid);
    return p;
  }

  MountResult mount(const std::string& role, const std::string& objects, const TestPod& p,
                    std::map<std::string, std::string> extra = {}) {
    extra["roleName"] = role;
    extra["objects"] = objects;
    return client_->mount(testing::driverRequest(std::move(extra), p));
  }

  // The log never carries a token or a secret value.
  void expectCleanLog(const std::vector<std::string>& secrets) {
    const std::string text = log_.str();
    for (const std::string& secret : secrets) {
      EXPECT_THAT(text, Not(HasSubstr(secret)));
    }
  }

  test::ManualClock clock_;
  std::ostringstream log_;
  common::log::LoggerOptions previous_log_;
  std::unique_ptr<test::VaultDouble> vault_;
  std::string dir_;
  std::string socket_path_;
  std::unique_ptr<Provider> provider_;
  std::unique_ptr<ProviderServer> server_;
  std::unique_ptr<ProviderClient> client_;
};

TEST_F(CsiProviderTest, Version) {
  startProvider({.runtime_version = "1.2.3"});
  v1alpha1::VersionResponse response;
  ASSERT_TRUE(client_->version(&response).ok());
  EXPECT_EQ(response.version(), "v1alpha1");
  EXPECT_EQ(response.runtime_name(), "secretsync");
  EXPECT_EQ(response.runtime_version(), "1.2.3");
}

TEST_F(CsiProviderTest, SocketIsOwnerOnlyAndRemovedOnShutdown) {
  startProvider();
  struct stat st {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server_->shutdown();
  server_->wait();
  EXPECT_NE(::stat(socket_path_.c_str(), &st), 0);
}

TEST_F(CsiProviderTest, StaleSocketIsReplacedAndOtherFilesAreNot) {
  // A socket file left behind by a killed provider.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path_.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  startProvider();
  v1alpha1::VersionResponse response;
  EXPECT_TRUE(client_->version(&response).ok());

  const std::string regular = dir_ + "/not-a-socket";
  std::ofstream(regular) << "x";
  auto refused = ProviderServer::start(regular, *provider_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(regular));
  auto no_dir = ProviderServer::start(dir_ + "/missing/x.sock", *provider_);
  EXPECT_EQ(no_dir.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CsiProviderTest, SecretKeyWholeSecretPinnedVersionAndModes) {
  startProvider();
  const TestPod p = pod();
  const MountResult result = mount("app", R"(
- objectName: password
  secretPath: secret/data/app/db
  secretKey: password
- objectName: db.json
  secretPath: secret/app/db
  filePermission: 0600
- objectName: old/password
  secretPath: secret/data/app/db?version=1
  secretKey: password
)",
                                   p);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.file("password"), "hunter2-v2");
  EXPECT_EQ(nlohmann::json::parse(result.file("db.json")),
            (nlohmann::json{{"user", "admin"}, {"password", "hunter2-v2"}}));
  EXPECT_EQ(result.file("old/password"), "hunter2-v1");
  EXPECT_EQ(result.mode("password"), 0644);  // the driver's permission "420"
  EXPECT_EQ(result.mode("db.json"), 0600);
  EXPECT_EQ(result.version("password"), "2");
  EXPECT_EQ(result.version("db.json"), "2");
  EXPECT_EQ(result.version("old/password"), "1");
  EXPECT_EQ(result.response.object_version_size(), 3);
  EXPECT_FALSE(result.response.has_error());
  expectCleanLog({p.tokens.at("vault"), "hunter2"});
}

// Objects of one mount naming one secret share one read even with the cache off, so the files of a
// mount never mix two versions of a path; a pinned version is its own read.
TEST_F(CsiProviderTest, OneMountReadsEachSecretOnceWhateverTheCache) {
  ProviderOptions options;
  options.fetcher.cache_ttl = std::chrono::milliseconds(0);
  startProvider(std::move(options));
  const std::string objects = R"(
- {objectName: user, secretPath: secret/data/app/db, secretKey: user}
- {objectName: password, secretPath: secret/app/db, secretKey: password}
- {objectName: db.json, secretPath: secret/data/app/db}
- {objectName: old, secretPath: "secret/data/app/db?version=1", secretKey: password}
)";
  vault_->resetCounters();
  const MountResult first = mount("app", objects, pod());
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.file("password"), "hunter2-v2");
  EXPECT_EQ(first.file("old"), "hunter2-v1");
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 2u);

  // Not a cache: the next mount reads again.
  ASSERT_TRUE(mount("app", objects, pod()).status.ok());
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 4u);
}

TEST_F(CsiProviderTest, Base64HexAndNonStringValues) {
  ASSERT_TRUE(vault_
                  ->putSecret("secret", "app/bin",
                              {{"blob", "AAEC/w=="},
                               {"hex", "00ff"},
                               {"port", 5432},
                               {"nested", {{"a", 1}}},
                               {"bad", "not base64!"}})
                  .ok());
  startProvider();
  const MountResult result = mount("app", R"(
- {objectName: blob, secretPath: secret/app/bin, secretKey: blob, encoding: base64}
- {objectName: hex, secretPath: secret/app/bin, secretKey: hex, encoding: hex}
- {objectName: port, secretPath: secret/app/bin, secretKey: port}
- {objectName: nested, secretPath: secret/app/bin, secretKey: nested}
)",
                                   pod());
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.file("blob"), std::string("\x00\x01\x02\xff", 4));
  EXPECT_EQ(result.file("hex"), std::string("\x00\xff", 2));
  EXPECT_EQ(result.file("port"), "5432");
  EXPECT_EQ(result.file("nested"), R"({"a":1})");

  const MountResult bad = mount(
      "app", "- {objectName: b, secretPath: secret/app/bin, secretKey: bad, encoding: base64}\n",
      pod());
  EXPECT_EQ(bad.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.status.error_message(), HasSubstr("object \"b\""));
  EXPECT_THAT(bad.status.error_message(), HasSubstr("not valid base64"));
  EXPECT_THAT(bad.status.error_message(), Not(HasSubstr("not base64!")));

  const MountResult missing =
      mount("app", "- {objectName: m, secretPath: secret/app/bin, secretKey: nope}\n", pod());
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.status.error_message(), HasSubstr("secretKey \"nope\""));
}

TEST_F(CsiProviderTest, BadPathsAndModesAreRejected) {
  startProvider();
  const TestPod p = pod();
  const MountResult traversal =
      mount("app", "- {objectName: ../../etc/x, secretPath: secret/app/db}\n", p);
  EXPECT_EQ(traversal.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(traversal.status.error_message(), HasSubstr("objects[0].objectName"));
  const MountResult absolute = mount("app", "- {objectName: /x, secretPath: secret/app/db}\n", p);
  EXPECT_EQ(absolute.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const MountResult mode =
      mount("app", "- {objectName: x, secretPath: secret/app/db, filePermission: 04755}\n", p);
  EXPECT_EQ(mode.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(mode.status.error_message(), HasSubstr("objects[0].filePermission"));
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 0u);
  expectCleanLog({p.tokens.at("vault")});
}

TEST_F(CsiProviderTest, RotationShowsNewContentAndVersionAfterTheCacheWindow) {
  startProvider();
  const std::string objects =
      "- {objectName: password, secretPath: secret/app/db, secretKey: password}\n";
  const MountResult first = mount("app", objects, pod());
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.file("password"), "hunter2-v2");
  EXPECT_EQ(first.version("password"), "2");

  ASSERT_TRUE(
      vault_->putSecret("secret", "app/db", {{"user", "admin"}, {"password", "hunter2-v3"}}).ok());
  clock_.advance(seconds(6));  // past the 5 s cache window
  const MountResult second = mount("app", objects, pod());
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.file("password"), "hunter2-v3");
  EXPECT_EQ(second.version("password"), "3");
}

// secretPath is Vault's API path: its `data` segment is KV v2's only on a KV v2 mount. On KV v1 a
// folder named `data` is the key's own, as vault-csi-provider (which sends the path verbatim)
// reads it.
TEST_F(CsiProviderTest, DataSegmentIsDroppedOnKvV2OnlyAndKvV1KeysUnderDataStayReadable) {
  ASSERT_TRUE(vault_->mountKv("legacy", 1).ok());
  vault_->putPolicy("app-reader", {{"secret/data/app/*", {Capability::kRead}},
                                   {"secret/data/data/*", {Capability::kRead}},
                                   {"legacy/*", {Capability::kRead}}});
  ASSERT_TRUE(vault_->putSecret("legacy", "data/cfg", {{"k", "v1-under-data"}}).ok());
  ASSERT_TRUE(vault_->putSecret("legacy", "cfg", {{"k", "v1-top"}}).ok());
  ASSERT_TRUE(vault_->putSecret("secret", "data/x", {{"k", "v2-key-named-data"}}).ok());
  startProvider();
  const MountResult result = mount("app", R"(
- {objectName: legacy-data, secretPath: legacy/data/cfg, secretKey: k}
- {objectName: legacy-top, secretPath: legacy/cfg, secretKey: k}
- {objectName: v2, secretPath: secret/data/app/db, secretKey: password}
- {objectName: v2-logical, secretPath: secret/app/db, secretKey: password}
- {objectName: v2-data-key, secretPath: secret/data/data/x, secretKey: k}
)",
                                   pod());
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.file("legacy-data"), "v1-under-data");
  EXPECT_EQ(result.file("legacy-top"), "v1-top");
  EXPECT_EQ(result.file("v2"), "hunter2-v2");
  EXPECT_EQ(result.file("v2-logical"), "hunter2-v2");
  EXPECT_EQ(result.file("v2-data-key"), "v2-key-named-data");
}

TEST_F(CsiProviderTest, KvV1VersionIsAKeyedHashNeverTheContent) {
  ASSERT_TRUE(vault_->mountKv("legacy", 1).ok());
  vault_->putPolicy("app-reader", {{"secret/data/app/*", {Capability::kRead}},
                                   {"legacy/*", {Capability::kRead}}});
  ASSERT_TRUE(vault_->putSecret("legacy", "cfg", {{"k", "legacy-value"}}).ok());
  startProvider();
  const std::string objects = "- {objectName: k, secretPath: legacy/cfg, secretKey: k}\n";
  const MountResult first = mount("app", objects, pod());
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.file("k"), "legacy-value");
  const std::string version = first.version("k");
  EXPECT_FALSE(version.empty());
  EXPECT_THAT(version, Not(HasSubstr("legacy-value")));
  ASSERT_TRUE(vault_->putSecret("legacy", "cfg", {{"k", "legacy-value-2"}}).ok());
  clock_.advance(seconds(6));
  const MountResult second = mount("app", objects, pod());
  ASSERT_TRUE(second.status.ok());
  EXPECT_NE(second.version("k"), version);
}

TEST_F(CsiProviderTest, FanOutFiftyPodsFiveObjectsFiveStoreReads) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        vault_->putSecret("secret", "app/o" + std::to_string(i), {{"v", std::to_string(i)}}).ok());
  }
  startProvider();
  std::string objects;
  for (int i = 0; i < 5; ++i) {
    objects += "- {objectName: o" + std::to_string(i) + ", secretPath: secret/data/app/o" +
               std::to_string(i) + ", secretKey: v}\n";
  }
  std::vector<TestPod> pods;
  for (int i = 0; i < 50; ++i) {
    pods.push_back(pod("app-" + std::to_string(i)));
  }
  vault_->resetCounters();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      ProviderClient client(socket_path_);
      const MountResult result = client.mount(
          testing::driverRequest({{"roleName", "app"}, {"objects", objects}}, pods[i]));
      if (result.status.ok() && result.file("o3") == "3") {
        ++ok;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 50);
  uint64_t data_reads = 0;
  for (int i = 0; i < 5; ++i) {
    const uint64_t reads = vault_->requestCount("GET", "secret/data/app/o" + std::to_string(i));
    EXPECT_EQ(reads, 1u) << "o" << i;
    data_reads += reads;
  }
  EXPECT_EQ(data_reads, 5u);
  EXPECT_EQ(vault_->loginCount("kubernetes"), 1u);
  const ProviderStats stats = provider_->stats();
  EXPECT_EQ(stats.mounts, 50u);
  EXPECT_EQ(stats.mount_errors, 0u);
  EXPECT_EQ(stats.identities, 1u);
  EXPECT_EQ(stats.fetcher.store_reads, 5u);
  EXPECT_EQ(stats.fetcher.readsSaved(), 245u);
  std::printf(
      "fan-out: 50 mounts x 5 objects -> %llu data reads, %llu logins, %llu saved "
      "(%llu cache hits, %llu single-flight joins)\n",
      static_cast<unsigned long long>(data_reads),
      static_cast<unsigned long long>(vault_->loginCount("kubernetes")),
      static_cast<unsigned long long>(stats.fetcher.readsSaved()),
      static_cast<unsigned long long>(stats.fetcher.cache_hits),
      static_cast<unsigned long long>(stats.fetcher.singleflight_joins));
}

TEST_F(CsiProviderTest, IdentityIsolationRightAfterAnotherIdentityCachedThePath) {
  startProvider();
  const std::string objects =
      "- {objectName: password, secretPath: secret/app/db, secretKey: password}\n";
  const MountResult app = mount("app", objects, pod("app-0", "app"));
  ASSERT_TRUE(app.status.ok()) << app.status.error_message();

  const TestPod other = pod("other-0", "other");
  const MountResult denied = mount("public", objects, other);
  EXPECT_EQ(denied.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.status.error_message(), HasSubstr("object \"password\""));
  EXPECT_THAT(denied.status.error_message(), HasSubstr("secret/app/db"));
  EXPECT_THAT(denied.status.error_message(), Not(HasSubstr("hunter2")));
  EXPECT_EQ(denied.response.files_size(), 0);
  // It went to the store as its own identity.
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 2u);

  // The same role may read what its policy allows.
  const MountResult allowed = mount(
      "public", "- {objectName: motd, secretPath: secret/app/public, secretKey: motd}\n", other);
  ASSERT_TRUE(allowed.status.ok()) << allowed.status.error_message();
  EXPECT_EQ(allowed.file("motd"), "hello");

  // A pod of the wrong service account cannot borrow the role "app".
  const MountResult wrong_sa = mount("app", objects, other);
  EXPECT_EQ(wrong_sa.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(provider_->stats().identities, 3u);
  expectCleanLog({other.tokens.at("vault"), "hunter2"});
}

TEST_F(CsiProviderTest, VaultDownIsAClearErrorAndTheNextMountIsServed) {
  startProvider();
  const std::string objects =
      "- {objectName: password, secretPath: secret/app/db, secretKey: password}\n";
  vault_->addFault(test::vault::FaultRule::error(503, "Vault is sealed"));
  const MountResult down = mount("app", objects, pod());
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(down.status.error_message(), HasSubstr("object \"password\""));

  // An address nothing listens on.
  const MountResult unreachable =
      mount("app", objects, pod(), {{"vaultAddress", "http://127.0.0.1:1"}});
  EXPECT_EQ(unreachable.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << unreachable.status.error_message();

  vault_->clearFaults();
  const MountResult up = mount("app", objects, pod());
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  EXPECT_EQ(up.file("password"), "hunter2-v2");
  const ProviderStats stats = provider_->stats();
  EXPECT_EQ(stats.mounts, 3u);
  EXPECT_EQ(stats.mount_errors, 2u);
  EXPECT_EQ(stats.errors_by_code.at("Unavailable"), 2u);
}

TEST_F(CsiProviderTest, TokensNeverAppearInErrorsOrLogs) {
  startProvider();
  TestPod forged = pod();
  // Signed with another key: Vault refuses the login.
  forged.tokens["vault"] = test::mintServiceAccountJwt("wrong-key", "prod", "app", {"vault"},
                                                       clock_.now() + std::chrono::hours(1));
  const MountResult refused =
      mount("app", "- {objectName: p, secretPath: secret/app/db, secretKey: password}\n", forged);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.status.error_message(), Not(HasSubstr(forged.tokens.at("vault"))));

  // A malformed request carrying the token in every shape.
  v1alpha1::MountRequest request = testing::driverRequest(
      {{"roleName", "app"}, {"objects", "- {objectName: /abs, secretPath: s/x}"}}, forged);
  request.set_secrets(std::string("{\"csi.storage.k8s.io/serviceAccount.tokens\": \"") +
                      forged.tokens.at("vault"));
  const MountResult malformed = client_->mount(request);
  EXPECT_EQ(malformed.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.status.error_message(), Not(HasSubstr(forged.tokens.at("vault"))));
  expectCleanLog({forged.tokens.at("vault")});
}

TEST_F(CsiProviderTest, NoTokenForTheAudienceUsesTheHookOrFailsClearly) {
  startProvider();
  TestPod no_token = pod();
  no_token.tokens.clear();
  const std::string objects =
      "- {objectName: password, secretPath: secret/app/db, secretKey: password}\n";
  const MountResult failed = mount("app", objects, no_token);
  EXPECT_EQ(failed.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(failed.status.error_message(), HasSubstr("audience \"vault\""));
  EXPECT_THAT(failed.status.error_message(), HasSubstr("tokenRequests"));

  // A token for another audience does not count; `audience` picks it.
  TestPod custom = pod();
  custom.tokens = {
      {"stronghold", test::mintServiceAccountJwt(kJwtKey, "prod", "app", {"vault"},
                                                 clock_.now() + std::chrono::hours(1))}};
  EXPECT_EQ(mount("app", objects, custom).status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(mount("app", objects, custom, {{"audience", "stronghold"}}).status.ok());

  // The TokenRequest fallback hook.
  server_.reset();
  client_.reset();
  std::atomic<int> calls{0};
  ProviderOptions options;
  options.token_request = [&](const PodInfo& info,
                              std::string_view audience) -> absl::StatusOr<common::SecretString> {
    ++calls;
    EXPECT_EQ(info.namespace_name, "prod");
    EXPECT_EQ(info.service_account, "app");
    EXPECT_EQ(audience, "vault");
    return common::SecretString(test::mintServiceAccountJwt(kJwtKey, info.namespace_name,
                                                            info.service_account, {"vault"},
                                                            clock_.now() + std::chrono::hours(1)));
  };
  startProvider(std::move(options));
  const MountResult hooked = mount("app", objects, no_token);
  ASSERT_TRUE(hooked.status.ok()) << hooked.status.error_message();
  // Minted at login only: a second mount reuses the Vault token and mints nothing.
  clock_.advance(seconds(6));
  ASSERT_TRUE(mount("app", objects, no_token).status.ok());
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(CsiProviderTest, RotatedPodTokenIsUsedAtTheNextLoginNotEveryMount) {
  startProvider();
  const std::string objects =
      "- {objectName: password, secretPath: secret/app/db, secretKey: password}\n";
  ASSERT_TRUE(mount("app", objects, pod("a")).status.ok());
  clock_.advance(seconds(6));
  ASSERT_TRUE(mount("app", objects, pod("b")).status.ok());
  EXPECT_EQ(vault_->loginCount("kubernetes"), 1u);
  // The Vault token expires; the next login uses the newest pod token, which is still valid.
  clock_.advance(seconds(7300));
  const MountResult later = mount("app", objects, pod("c"));
  ASSERT_TRUE(later.status.ok()) << later.status.error_message();
  EXPECT_EQ(vault_->loginCount("kubernetes"), 2u);
}

TEST_F(CsiProviderTest, IdentityMapIsBounded) {
  startProvider({.max_identities = 1});
  const std::string objects =
      "- {objectName: motd, secretPath: secret/app/public, secretKey: motd}\n";
  ASSERT_TRUE(mount("app", objects, pod("a", "app")).status.ok());
  ASSERT_TRUE(mount("public", objects, pod("b", "other")).status.ok());
  ASSERT_TRUE(mount("app", objects, pod("c", "app")).status.ok());
  EXPECT_EQ(provider_->stats().identities, 1u);
}

TEST_F(CsiProviderTest, ErrorCodeIsSetOnTheResponseForTheDriver) {
  startProvider();
  v1alpha1::MountResponse response;
  const absl::Status status = provider_->mount(
      testing::driverRequest({{"roleName", "app"}, {"objects", "- {objectName: x}"}}, pod()),
      &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(response.error().code(), "InvalidArgument");
  EXPECT_EQ(response.files_size(), 0);
  EXPECT_EQ(errorCodeName(absl::StatusCode::kPermissionDenied), "PermissionDenied");
}

TEST_F(CsiProviderTest, SecretsStoreImportWithoutAKubernetesClientFailsNamingIt) {
  startProvider();
  const MountResult result = client_->mount(testing::deckhouseDriverRequest("my-ssi", pod()));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(result.status.error_message(), HasSubstr("SecretsStoreImport \"prod/my-ssi\""));
  EXPECT_THAT(result.status.error_message(), HasSubstr("--kubeconfig"));
}

}  // namespace
}  // namespace secretsync::csi
