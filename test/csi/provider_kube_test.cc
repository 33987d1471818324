// The CSI provider with its Kubernetes side: Deckhouse's SecretsStoreImport dialect and the
// TokenRequest fallback. The provider runs in-process on a real unix socket, is called through a
// real gRPC client with attributes built as the drivers build them, and talks over real HTTP to
// the Kubernetes API double (SecretsStoreImport, ServiceAccounts, TokenRequest) through the real
// RestKubeClient, and to the Vault double, whose Kubernetes auth asks the Kubernetes double's
// TokenReview, as Vault asks the API server.

#include <filesystem>
#include <sstream>

#include <stdlib.h>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/log.h"
#include "pkg/csi/provider_server.h"
#include "pkg/kube/rest_kube_client.h"
#include "test/csi/csi_test_util.h"
#include "test/csi/csi_vault_setup.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/manual_clock.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::csi {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::MountResult;
using ::testing::Not;
using testing::ProviderClient;
using testing::TestPod;

constexpr char kProviderToken[] = "csi-provider-kube-token";
constexpr char kPassword[] = "hunter2-not-base64!";
// What the TLS secret holds, base64 as Vault users store binary values.
constexpr char kCertificate[] = "-----BEGIN CERTIFICATE-----\nMIIB\x01\x02\n";

Json secretsStoreImport(const std::string& namespace_name, const std::string& name,
                        const std::string& role, Json files) {
  return Json{{"apiVersion", "deckhouse.io/v1alpha1"},
              {"kind", "SecretsStoreImport"},
              {"metadata", {{"name", name}, {"namespace", namespace_name}}},
              {"spec", {{"type", "CSI"}, {"role", role}, {"files", std::move(files)}}}};
}

Json serviceAccount(const std::string& namespace_name, const std::string& name) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ServiceAccount"},
              {"metadata", {{"name", name}, {"namespace", namespace_name}}}};
}

class CsiProviderKubeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::curlGlobal();
    previous_log_ = common::log::configure({.level = common::log::Level::kDebug, .out = &log_});

    test::KubeDoubleOptions kube_options;
    kube_options.clock = &clock_;
    kube_options.tokens = {{kProviderToken, "system:serviceaccount:d8-secrets:secretsync"}};
    auto kube = test::KubeDouble::start(kube_options);
    ASSERT_TRUE(kube.ok()) << kube.status();
    kube_ = *std::move(kube);
    ASSERT_TRUE(kube_->createNamespace("prod").ok());
    ASSERT_TRUE(kube_->createNamespace("staging").ok());
    for (const char* name : {"app", "other"}) {
      ASSERT_TRUE(kube_->putObject(serviceAccount("prod", name)).ok());
    }

    test::VaultDoubleOptions vault_options;
    vault_options.clock = &clock_;
    auto vault = test::VaultDouble::start(vault_options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(
        testing::addAppReaderRole(*vault_, {.token_reviewer = kube_->tokenReviewer()}).ok());
    ASSERT_TRUE(
        vault_->putSecret("secret", "app/db", {{"user", "admin"}, {"password", kPassword}}).ok());
    ASSERT_TRUE(
        vault_->putSecret("secret", "app/tls", {{"crt", absl::Base64Escape(kCertificate)}}).ok());

    kube::KubeConfig config;
    config.server = kube_->baseUrl();
    config.token = common::SecretString(kProviderToken);
    auto client = kube::RestKubeClient::create(config, nullptr);
    ASSERT_TRUE(client.ok()) << client.status();
    kube_client_ = *std::move(client);

    char dir_template[] = "/tmp/secretsync-csi-kube-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    provider_.reset();
    kube_client_.reset();
    // The Vault double calls the Kubernetes double's TokenReview: it goes first.
    vault_.reset();
    kube_.reset();
    common::log::configure(previous_log_);
    std::filesystem::remove_all(dir_);
  }

  // `with_kube`: the provider reads SecretsStoreImports and mints tokens through the client, as
  // `secretsync csi-provider` does with a Kubernetes configuration.
  void startProvider(bool with_kube = true) {
    ProviderOptions options;
    options.default_vault_address = vault_->baseUrl();
    options.fetcher.cache_ttl = std::chrono::milliseconds(5000);
    if (with_kube) {
      options.kube_client = kube_client_.get();
      options.token_request = makeTokenRequestHook(*kube_client_);
    }
    provider_ = std::make_unique<Provider>(clock_, std::move(options));
    auto server = ProviderServer::start(dir_ + "/secretsync.sock", *provider_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<ProviderClient>(dir_ + "/secretsync.sock");
  }

  // A pod as Deckhouse runs it: its CSIDriver has no tokenRequests, so no token comes.
  static TestPod pod(const std::string& name, const std::string& service_account = "app",
                     const std::string& namespace_name = "prod") {
    TestPod p;
    p.name = name;
    p.uid = "uid-" + name;
    p.namespace_name = namespace_name;
    p.service_account = service_account;
    return p;
  }

  MountResult mountImport(const std::string& name, const TestPod& p) {
    return client_->mount(testing::deckhouseDriverRequest(name, p));
  }

  uint64_t tokenRequests() const { return kube_->requestCount("create", "serviceaccounts/token"); }

  void expectCleanLog() {
    const std::string text = log_.str();
    EXPECT_THAT(text, Not(HasSubstr(kPassword)));
    EXPECT_THAT(text, Not(HasSubstr(absl::Base64Escape(kCertificate))));
    EXPECT_THAT(text, Not(HasSubstr("eyJ")));  // no JWT
  }

  test::ManualClock clock_;
  std::ostringstream log_;
  common::log::LoggerOptions previous_log_;
  std::unique_ptr<test::KubeDouble> kube_;
  std::unique_ptr<test::VaultDouble> vault_;
  std::unique_ptr<kube::RestKubeClient> kube_client_;
  std::string dir_;
  std::unique_ptr<Provider> provider_;
  std::unique_ptr<ProviderServer> server_;
  std::unique_ptr<ProviderClient> client_;
};

TEST_F(CsiProviderKubeTest, SecretsStoreImportMountsItsFilesWithDecodeBase64) {
  ASSERT_TRUE(
      kube_
          ->putObject(secretsStoreImport(
              "prod", "app-secrets", "app",
              Json::array({
                  {{"name", "db-password"},
                   {"source", {{"path", "secret/data/app/db"}, {"key", "password"}}}},
                  {{"name", "tls.crt"},
                   {"decodeBase64", true},
                   {"source", {{"path", "secret/data/app/tls"}, {"key", "crt"}}}},
                  {{"name", "db.json"}, {"source", {{"path", "secret/data/app/db?version=1"}}}},
              })))
          .ok());
  startProvider();
  const MountResult result = mountImport("app-secrets", pod("app-0"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response.files_size(), 3);
  EXPECT_EQ(result.file("db-password"), kPassword);
  EXPECT_EQ(result.file("tls.crt"), kCertificate);
  EXPECT_EQ(Json::parse(result.file("db.json")),
            (Json{{"user", "admin"}, {"password", kPassword}}));
  EXPECT_EQ(result.mode("db-password"), 0644);
  EXPECT_EQ(result.version("db-password"), "1");
  EXPECT_EQ(result.version("tls.crt"), "1");
  EXPECT_EQ(kube_->requestCount("get", "secretsstoreimports"), 1u);
  // No token from the driver: one TokenRequest for the pod's service account, one Vault login.
  EXPECT_EQ(tokenRequests(), 1u);
  EXPECT_EQ(vault_->loginSuccessCount("kubernetes"), 1u);

  // A second pod of the same identity shares the login and the reads.
  const auto reads = provider_->stats().fetcher.store_reads;
  ASSERT_TRUE(mountImport("app-secrets", pod("app-1")).status.ok());
  EXPECT_EQ(provider_->stats().fetcher.store_reads, reads);
  EXPECT_EQ(tokenRequests(), 1u);
  EXPECT_EQ(vault_->loginCount("kubernetes"), 1u);
  expectCleanLog();
}

TEST_F(CsiProviderKubeTest, InvalidBase64FailsNamingTheFileNeverTheValue) {
  ASSERT_TRUE(
      kube_
          ->putObject(secretsStoreImport(
              "prod", "bad-decode", "app",
              Json::array({{{"name", "password.bin"},
                            {"decodeBase64", true},
                            {"source", {{"path", "secret/data/app/db"}, {"key", "password"}}}}})))
          .ok());
  startProvider();
  const MountResult result = mountImport("bad-decode", pod("app-0"));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(result.status.error_message(), HasSubstr("SecretsStoreImport \"prod/bad-decode\""));
  EXPECT_THAT(result.status.error_message(), HasSubstr("object \"password.bin\""));
  EXPECT_THAT(result.status.error_message(), HasSubstr("not valid base64"));
  EXPECT_THAT(result.status.error_message(), Not(HasSubstr(kPassword)));
  EXPECT_EQ(result.response.files_size(), 0);
  expectCleanLog();
}

TEST_F(CsiProviderKubeTest, ImportErrorsNameTheObjectAndField) {
  Json bad_type = secretsStoreImport(
      "prod", "env-type", "app",
      Json::array({{{"name", "x"}, {"source", {{"path", "secret/data/app/db"}}}}}));
  bad_type["spec"]["type"] = "Env";
  ASSERT_TRUE(kube_->putObject(bad_type).ok());
  ASSERT_TRUE(kube_
                  ->putObject(secretsStoreImport(
                      "prod", "escape", "app",
                      Json::array({{{"name", "../../etc/passwd"},
                                    {"source", {{"path", "secret/data/app/db"}}}}})))
                  .ok());
  // Only the pod's own namespace is looked in.
  ASSERT_TRUE(kube_
                  ->putObject(secretsStoreImport(
                      "staging", "elsewhere", "app",
                      Json::array({{{"name", "x"}, {"source", {{"path", "secret/data/app/db"}}}}})))
                  .ok());
  startProvider();

  const MountResult type = mountImport("env-type", pod("app-0"));
  EXPECT_EQ(type.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      type.status.error_message(),
      HasSubstr("SecretsStoreImport \"prod/env-type\": spec.type: \"Env\" is not supported"));

  const MountResult escape = mountImport("escape", pod("app-0"));
  EXPECT_EQ(escape.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(escape.status.error_message(),
              HasSubstr("spec.files[0].name: \"../../etc/passwd\" must not start with \"..\""));

  const MountResult missing = mountImport("elsewhere", pod("app-0"));
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.status.error_message(), HasSubstr("SecretsStoreImport \"prod/elsewhere\""));

  // Nothing was read from Vault for any of them.
  EXPECT_EQ(provider_->stats().fetcher.store_reads, 0u);
  EXPECT_EQ(provider_->stats().errors_by_code.at("InvalidArgument"), 2u);
}

TEST_F(CsiProviderKubeTest, TokenRequestFallbackLogsInAsThePodsServiceAccount) {
  startProvider();
  const std::string objects =
      "- {objectName: password, secretPath: secret/data/app/db, secretKey: password}\n";
  const MountResult first =
      client_->mount(testing::driverRequest({{"roleName", "app"}, {"objects", objects}}, pod("a")));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.file("password"), kPassword);
  EXPECT_EQ(tokenRequests(), 1u);
  EXPECT_EQ(vault_->loginSuccessCount("kubernetes"), 1u);

  // Later mounts of the identity reuse the Vault token: no TokenRequest, no login.
  clock_.advance(seconds(6));
  ASSERT_TRUE(
      client_->mount(testing::driverRequest({{"roleName", "app"}, {"objects", objects}}, pod("b")))
          .status.ok());
  EXPECT_EQ(tokenRequests(), 1u);
  EXPECT_EQ(vault_->loginCount("kubernetes"), 1u);
  expectCleanLog();
}

TEST_F(CsiProviderKubeTest, TokenRequestFallbackKeepsIdentitiesApart) {
  startProvider();
  const std::string objects =
      "- {objectName: password, secretPath: secret/data/app/db, secretKey: password}\n";
  ASSERT_TRUE(
      client_->mount(testing::driverRequest({{"roleName", "app"}, {"objects", objects}}, pod("a")))
          .status.ok());

  // Right after, a pod of another service account asks for the same role and path: its own token
  // is minted, Vault refuses the login, and the cached read is not served to it.
  const MountResult other = client_->mount(
      testing::driverRequest({{"roleName", "app"}, {"objects", objects}}, pod("b", "other")));
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << other.status.error_message();
  EXPECT_EQ(other.response.files_size(), 0);
  EXPECT_EQ(tokenRequests(), 2u);

  // A pod whose service account does not exist gets no token, and says which one.
  const MountResult ghost = client_->mount(
      testing::driverRequest({{"roleName", "app"}, {"objects", objects}}, pod("c", "ghost")));
  EXPECT_FALSE(ghost.status.ok());
  EXPECT_THAT(ghost.status.error_message(),
              HasSubstr("TokenRequest for service account prod/ghost"));
  EXPECT_THAT(ghost.status.error_message(), HasSubstr("serviceaccounts/token"));

  // The same through the Deckhouse dialect: the import is read in the pod's namespace, the login
  // is the pod's own.
  ASSERT_TRUE(
      kube_
          ->putObject(secretsStoreImport(
              "prod", "app-secrets", "app",
              Json::array({{{"name", "password"},
                            {"source", {{"path", "secret/data/app/db"}, {"key", "password"}}}}})))
          .ok());
  EXPECT_TRUE(mountImport("app-secrets", pod("d")).status.ok());
  EXPECT_EQ(mountImport("app-secrets", pod("e", "other")).status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  expectCleanLog();
}

TEST_F(CsiProviderKubeTest, WithoutKubernetesTheFallbackIsOffAndSaysSo) {
  startProvider(/*with_kube=*/false);
  const MountResult result = client_->mount(testing::driverRequest(
      {{"roleName", "app"},
       {"objects", "- {objectName: p, secretPath: secret/data/app/db, secretKey: password}\n"}},
      pod("a")));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(result.status.error_message(), HasSubstr("TokenRequest fallback is off"));
  EXPECT_EQ(tokenRequests(), 0u);
}

}  // namespace
}  // namespace secretsync::csi
