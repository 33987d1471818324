// End to end: the built `secretsync csi-provider` process on a unix socket in a temp dir, called
// through a gRPC client as the driver calls it, reading from the Vault double over real TCP with
// real time. Ends with SIGTERM and checks the clean shutdown.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/csi/csi_test_util.h"
#include "test/csi/csi_vault_setup.h"
#include "test/support/curl_test_client.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/kubeconfig.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::csi {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::MountResult;
using ::testing::Not;
using testing::ProviderClient;
using testing::TestPod;

constexpr char kJwtKey[] = "csi-e2e-signing-key";

// A child process running the secretsync binary, its output in a file; killed if still running
// when destroyed.
class ProviderProcess {
 public:
  ProviderProcess(const std::vector<std::string>& args, const std::string& log_path) {
    std::vector<std::string> argv_storage = {SECRETSYNC_BINARY, "csi-provider"};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    // Everything the child needs is built before fork(): a forked child of a threaded process
    // may only call async-signal-safe functions.
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~ProviderProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  // Sends `signal` and waits for the exit. @return the exit status, -1 on timeout or a crash.
  int stop(int signal) {
    ::kill(pid_, signal);
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

class CsiProviderE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vault = test::VaultDouble::start();
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(testing::addAppReaderRole(*vault_, {.jwt_hs256_key = kJwtKey}).ok());
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(vault_
                      ->putSecret("secret", "app/o" + std::to_string(i),
                                  {{"v", "value-" + std::to_string(i)}})
                      .ok());
    }
    char dir_template[] = "/tmp/secretsync-csi-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    socket_path_ = dir_ + "/secretsync.sock";
    log_path_ = dir_ + "/provider.log";
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "provider log:\n" << log();
    }
    process_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<test::KubeDouble> startKubeWithImport();

  void startProcess(const std::string& cache_ttl, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "--socket",     socket_path_, "--vault-addr",   vault_->baseUrl(),
        "--cache-ttl",  cache_ttl,    "--log-level",    "debug",
        "--log-format", "json",       "--metrics-addr", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ProviderProcess>(args, log_path_);
    for (int i = 0; i < 200 && !std::filesystem::exists(socket_path_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(std::filesystem::exists(socket_path_)) << log();
    client_ = std::make_unique<ProviderClient>(socket_path_);
  }

  // @return the port of the metrics server, read from the process's "serving metrics" log line.
  int metricsPort() const {
    std::istringstream lines(log());
    for (std::string line; std::getline(lines, line);) {
      if (line.find("serving metrics") != std::string::npos) {
        return nlohmann::json::parse(line, nullptr, false).value("port", 0);
      }
    }
    return 0;
  }

  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  TestPod pod(const std::string& name) {
    TestPod p;
    p.name = name;
    p.uid = "uid-" + name;
    p.tokens["vault"] = test::mintServiceAccountJwt(
        kJwtKey, "prod", "app", {"vault"}, std::chrono::system_clock::now() + std::chrono::hours(1),
        p.uid);
    return p;
  }

  std::string objects() const {
    std::string out;
    for (int i = 0; i < 5; ++i) {
      out += "- {objectName: o" + std::to_string(i) + ", secretPath: secret/data/app/o" +
             std::to_string(i) + ", secretKey: v}\n";
    }
    return out;
  }

  std::unique_ptr<test::VaultDouble> vault_;
  std::string dir_;
  std::string socket_path_;
  std::string log_path_;
  std::unique_ptr<ProviderProcess> process_;
  std::unique_ptr<ProviderClient> client_;
};

TEST_F(CsiProviderE2eTest, ServesMountsFanOutFailuresAndStopsCleanly) {
  // A window no build (sanitizers on a loaded machine included) outlasts: the fan-out below
  // counts what one window costs.
  startProcess("10m");
  struct stat st {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  v1alpha1::VersionResponse version;
  ASSERT_TRUE(client_->version(&version, /*wait_for_ready=*/true).ok());
  EXPECT_EQ(version.version(), "v1alpha1");
  EXPECT_EQ(version.runtime_name(), "secretsync");
  EXPECT_FALSE(version.runtime_version().empty());

  // Fan-out: 50 pods of one identity, 5 objects each.
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
          testing::driverRequest({{"roleName", "app"}, {"objects", objects()}}, pods[i]));
      if (result.status.ok() && result.file("o4") == "value-4" && result.version("o4") == "1") {
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
    data_reads += vault_->requestCount("GET", "secret/data/app/o" + std::to_string(i));
  }
  EXPECT_EQ(data_reads, 5u);
  EXPECT_EQ(vault_->loginCount("kubernetes"), 1u);
  std::printf("e2e fan-out: 50 mounts x 5 objects -> %llu data reads, %llu logins\n",
              static_cast<unsigned long long>(data_reads),
              static_cast<unsigned long long>(vault_->loginCount("kubernetes")));

  // Vault down: a clear error, and the process keeps serving.
  const uint64_t fault = vault_->addFault(test::vault::FaultRule::error(503, "", 3));
  const TestPod down_pod = pod("down");
  const MountResult down = client_->mount(testing::driverRequest(
      {{"roleName", "app"},
       {"objects", "- {objectName: x, secretPath: secret/app/new, secretKey: v}\n"}},
      down_pod));
  EXPECT_EQ(down.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(down.status.error_message(), HasSubstr("object \"x\""));
  EXPECT_THAT(down.status.error_message(), Not(HasSubstr(down_pod.tokens.at("vault"))));
  EXPECT_GE(vault_->faultHits(fault), 1u);
  EXPECT_TRUE(process_->running());
  ASSERT_TRUE(vault_->putSecret("secret", "app/new", {{"v", "fresh"}}).ok());
  vault_->clearFaults();
  const MountResult after = client_->mount(testing::driverRequest(
      {{"roleName", "app"},
       {"objects", "- {objectName: x, secretPath: secret/app/new, secretKey: v}\n"}},
      pod("after")));
  ASSERT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.file("x"), "fresh");

  // Metrics: what happened above is visible on /metrics, with no token, path or value in it.
  const int port = metricsPort();
  ASSERT_NE(port, 0) << log();
  test::CurlTestClient http;
  const auto scrape = http.request("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  ASSERT_EQ(scrape.status, 200) << scrape.error;
  EXPECT_THAT(scrape.body, HasSubstr("secretsync_csi_mount_duration_seconds_count 52"));
  EXPECT_THAT(scrape.body, HasSubstr("secretsync_csi_mount_errors_total{code=\"Unavailable\"} 1"));
  EXPECT_THAT(scrape.body, HasSubstr("secretsync_store_reads_saved_total"));
  EXPECT_THAT(
      scrape.body,
      HasSubstr("secretsync_vault_requests_total{operation=\"GET secret/data/*\",status_class="
                "\"2xx\"}"));
  EXPECT_THAT(scrape.body, HasSubstr("status_class=\"5xx\""));
  EXPECT_THAT(scrape.body, HasSubstr("secretsync_build_info{"));
  EXPECT_THAT(scrape.body, Not(HasSubstr("value-")));
  EXPECT_THAT(scrape.body, Not(HasSubstr("app/o")));
  EXPECT_THAT(scrape.body, Not(HasSubstr(pods[0].tokens.at("vault"))));

  // SIGTERM: clean exit, socket removed, no token or value in the log.
  EXPECT_EQ(process_->stop(SIGTERM), 0);
  EXPECT_FALSE(std::filesystem::exists(socket_path_));
  const std::string text = log();
  EXPECT_THAT(text, HasSubstr("csi provider stopped"));
  for (const TestPod& p : pods) {
    EXPECT_THAT(text, Not(HasSubstr(p.tokens.at("vault"))));
  }
  EXPECT_THAT(text, Not(HasSubstr("value-")));
  EXPECT_THAT(text, Not(HasSubstr("fresh")));
}

TEST_F(CsiProviderE2eTest, RotationAfterTheCacheWindow) {
  startProcess("200ms");
  const std::string one = "- {objectName: o0, secretPath: secret/app/o0, secretKey: v}\n";
  const MountResult first =
      client_->mount(testing::driverRequest({{"roleName", "app"}, {"objects", one}}, pod("a")));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.file("o0"), "value-0");
  EXPECT_EQ(first.version("o0"), "1");
  ASSERT_TRUE(vault_->putSecret("secret", "app/o0", {{"v", "rotated"}}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const MountResult second =
      client_->mount(testing::driverRequest({{"roleName", "app"}, {"objects", one}}, pod("a")));
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.file("o0"), "rotated");
  EXPECT_EQ(second.version("o0"), "2");
  EXPECT_EQ(process_->stop(SIGINT), 0);
}

// A Kubernetes double with the namespace "prod", its ServiceAccount "app" and the
// SecretsStoreImport "app-secrets" (files o1 and o2.bin), and a kubeconfig for it in dir_.
std::unique_ptr<test::KubeDouble> CsiProviderE2eTest::startKubeWithImport() {
  test::KubeDoubleOptions kube_options;
  kube_options.service_account_key = kJwtKey;  // the Vault double checks the minted tokens
  kube_options.tokens = {{"provider-token", "system:serviceaccount:d8:secretsync"}};
  auto kube = test::KubeDouble::start(kube_options);
  EXPECT_TRUE(kube.ok()) << kube.status();
  if (!kube.ok()) {
    return nullptr;
  }
  EXPECT_TRUE((*kube)->createNamespace("prod").ok());
  EXPECT_TRUE((*kube)
                  ->putObject({{"apiVersion", "v1"},
                               {"kind", "ServiceAccount"},
                               {"metadata", {{"name", "app"}, {"namespace", "prod"}}}})
                  .ok());
  EXPECT_TRUE((*kube)
                  ->putObject(nlohmann::json::parse(R"({
            "apiVersion": "deckhouse.io/v1alpha1", "kind": "SecretsStoreImport",
            "metadata": {"name": "app-secrets", "namespace": "prod"},
            "spec": {"type": "CSI", "role": "app", "files": [
              {"name": "o1", "source": {"path": "secret/data/app/o1", "key": "v"}},
              {"name": "o2.bin", "decodeBase64": true,
               "source": {"path": "secret/data/app/o2", "key": "v"}}]}})"))
                  .ok());
  std::ofstream(dir_ + "/kubeconfig")
      << test::kube::renderKubeconfig({.server = (*kube)->baseUrl(), .token = "provider-token"});
  return *std::move(kube);
}

// Deckhouse's way: a SecretsStoreImport named by the volume, no token from the driver (its
// CSIDriver has no tokenRequests), so the provider reads the import and mints the pod's token
// through the Kubernetes API named by --kubeconfig.
TEST_F(CsiProviderE2eTest, SecretsStoreImportAndTokenRequestThroughKubeconfig) {
  std::unique_ptr<test::KubeDouble> kube = startKubeWithImport();
  ASSERT_NE(kube, nullptr);
  startProcess("5s", {"--kubeconfig", dir_ + "/kubeconfig"});

  TestPod p = pod("deckhouse-0");
  p.tokens.clear();
  const MountResult bad = client_->mount(testing::deckhouseDriverRequest("app-secrets", p));
  // "value-2" is not base64: the whole mount fails, naming the file.
  EXPECT_EQ(bad.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.status.error_message(), HasSubstr("SecretsStoreImport \"prod/app-secrets\""));
  EXPECT_THAT(bad.status.error_message(), HasSubstr("object \"o2.bin\""));
  EXPECT_THAT(bad.status.error_message(), Not(HasSubstr("value-2")));

  ASSERT_TRUE(vault_->putSecret("secret", "app/o2", {{"v", "YmluYXJ5AA=="}}).ok());
  const MountResult good = [&] {
    // The bad read is cached for --cache-ttl at most; a different pod shares that cache, so wait.
    for (int i = 0; i < 80; ++i) {
      MountResult result = client_->mount(testing::deckhouseDriverRequest("app-secrets", p));
      if (result.status.ok()) {
        return result;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return client_->mount(testing::deckhouseDriverRequest("app-secrets", p));
  }();
  ASSERT_TRUE(good.status.ok()) << good.status.error_message() << log();
  EXPECT_EQ(good.file("o1"), "value-1");
  EXPECT_EQ(good.file("o2.bin"), std::string("binary\0", 7));
  EXPECT_EQ(kube->requestCount("create", "serviceaccounts/token"), 1u);
  EXPECT_EQ(vault_->loginSuccessCount("kubernetes"), 1u);
  EXPECT_TRUE(process_->running());
  EXPECT_EQ(process_->stop(SIGTERM), 0);
  EXPECT_THAT(log(), Not(HasSubstr("YmluYXJ5AA")));
}

// With the fallback off, a mount without the driver's token fails naming what is missing, and
// the provider never asks the API server for a token.
TEST_F(CsiProviderE2eTest, NoTokenRequestFallbackRefusesMountsWithoutTheDriversToken) {
  std::unique_ptr<test::KubeDouble> kube = startKubeWithImport();
  ASSERT_NE(kube, nullptr);
  ASSERT_TRUE(vault_->putSecret("secret", "app/o2", {{"v", "YmluYXJ5AA=="}}).ok());
  startProcess("5s", {"--kubeconfig", dir_ + "/kubeconfig", "--no-token-request-fallback"});

  TestPod p = pod("deckhouse-1");
  p.tokens.clear();
  const MountResult refused = client_->mount(testing::deckhouseDriverRequest("app-secrets", p));
  EXPECT_FALSE(refused.status.ok());
  EXPECT_THAT(refused.status.error_message(),
              HasSubstr("csi.storage.k8s.io/serviceAccount.tokens"));
  EXPECT_EQ(kube->requestCount("create", "serviceaccounts/token"), 0u);
  EXPECT_EQ(vault_->loginSuccessCount("kubernetes"), 0u);

  TestPod with_token = pod("deckhouse-2");
  const MountResult good =
      client_->mount(testing::deckhouseDriverRequest("app-secrets", with_token));
  ASSERT_TRUE(good.status.ok()) << good.status.error_message() << log();
  EXPECT_EQ(good.file("o1"), "value-1");
  EXPECT_EQ(kube->requestCount("create", "serviceaccounts/token"), 0u);
  EXPECT_EQ(process_->stop(SIGTERM), 0);
}

TEST_F(CsiProviderE2eTest, BadFlagsExitTwo) {
  ProviderProcess bad({"--cache-ttl", "soon"}, log_path_);
  EXPECT_EQ(bad.stop(0), 2);
  EXPECT_THAT(log(), HasSubstr("--cache-ttl"));
}

TEST_F(CsiProviderE2eTest, UnreadableKubeconfigExitsNamingIt) {
  ProviderProcess bad({"--socket", socket_path_, "--kubeconfig", dir_ + "/missing-kubeconfig"},
                      log_path_);
  EXPECT_EQ(bad.stop(0), 1);
  EXPECT_THAT(log(), HasSubstr("--kubeconfig"));
  EXPECT_FALSE(std::filesystem::exists(socket_path_));
}

}  // namespace
}  // namespace secretsync::csi
