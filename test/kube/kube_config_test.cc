#include "pkg/kube/kube_config.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/support/test_pki.h"

namespace secretsync::kube {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr char kCertPem[] = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nMIIK\n-----END PRIVATE KEY-----\n";
constexpr char kToken[] = "kubeconfig-token-never-in-errors";

std::string b64(const std::string& s) { return absl::Base64Escape(s); }

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kubecfg-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    env_.service_account_dir = dir_ + "/sa";
    std::filesystem::create_directory(env_.service_account_dir);
    env_.getenv = [this](const std::string& name) -> std::optional<std::string> {
      const auto it = vars_.find(name);
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    EXPECT_TRUE(test::writePrivateFile(path, content).ok());
    return path;
  }

  void writeServiceAccount() {
    write("sa/token", "sa-token\n");
    write("sa/ca.crt", kCaPem);
    write("sa/namespace", "prod\n");
  }

  // A kubeconfig with one context "main" whose cluster and user bodies are given.
  static std::string kubeconfig(const std::string& cluster, const std::string& user,
                                const std::string& extra = "current-context: main\n") {
    return absl::StrCat("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n", cluster,
                        "users:\n- name: u\n  user:\n", user,
                        "contexts:\n- name: main\n  context:\n    cluster: c\n    user: u\n"
                        "    namespace: team\n",
                        extra);
  }

  absl::StatusOr<KubeConfig> parse(const std::string& yaml, const std::string& context = "") {
    return loadKubeconfig(write("config", yaml), context);
  }

  std::string dir_;
  std::map<std::string, std::string> vars_;
  ConfigEnvironment env_;
};

// The in-cluster config comes from the service environment variables and the mounted files; the
// token stays a path so rotation is seen.
TEST_F(KubeConfigTest, InClusterFromEnvironmentAndFiles) {
  writeServiceAccount();
  vars_ = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  auto config = inClusterConfig(env_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, dir_ + "/sa/token");
  EXPECT_TRUE(config->token.empty());
  EXPECT_EQ(config->tls.ca_file, dir_ + "/sa/ca.crt");
  EXPECT_FALSE(config->tls.insecure_skip_verify);
  EXPECT_EQ(config->namespace_name, "prod");
  EXPECT_EQ(config->source, "in-cluster");
}

// An IPv6 service address is bracketed, as net.JoinHostPort does.
TEST_F(KubeConfigTest, InClusterIpv6) {
  writeServiceAccount();
  vars_ = {{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}};
  auto config = inClusterConfig(env_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://[fd00:10:96::1]:6443");
}

// Outside a cluster, or with the mount missing, the error names what is missing.
TEST_F(KubeConfigTest, InClusterErrors) {
  auto config = inClusterConfig(env_);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("KUBERNETES_SERVICE_HOST"));

  vars_ = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  config = inClusterConfig(env_);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(dir_ + "/sa/token"));
  write("sa/token", "t");
  config = inClusterConfig(env_);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(dir_ + "/sa/ca.crt"));
  write("sa/ca.crt", kCaPem);
  config = inClusterConfig(env_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->namespace_name, "");  // the namespace file is optional
}

// Token and embedded CA; the context's namespace is kept.
TEST_F(KubeConfigTest, TokenAndCaData) {
  auto config = parse(kubeconfig(
      absl::StrCat("    server: https://k8s.example:6443/\n    certificate-authority-data: ",
                   b64(kCaPem), "\n    tls-server-name: api.internal\n"),
      absl::StrCat("    token: ", kToken, "\n")));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://k8s.example:6443");
  EXPECT_EQ(config->tls.ca_pem, kCaPem);
  EXPECT_EQ(config->tls.server_name, "api.internal");
  EXPECT_EQ(config->token.reveal(), kToken);
  EXPECT_EQ(config->namespace_name, "team");
  EXPECT_THAT(config->source, AllOf(HasSubstr(dir_ + "/config"), HasSubstr("context main")));
}

// File references are taken relative to the kubeconfig's directory.
TEST_F(KubeConfigTest, FilesRelativeToTheKubeconfig) {
  write("pki/ca.crt", kCaPem);
  write("pki/client.crt", kCertPem);
  write("pki/client.key", kKeyPem);
  write("token", "file-token\n");
  auto config =
      parse(kubeconfig("    server: https://k8s:6443\n    certificate-authority: pki/ca.crt\n",
                       "    client-certificate: pki/client.crt\n"
                       "    client-key: " +
                           dir_ +
                           "/pki/client.key\n"
                           "    tokenFile: token\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls.ca_file, dir_ + "/pki/ca.crt");
  EXPECT_EQ(config->tls.client_cert_file, dir_ + "/pki/client.crt");
  EXPECT_EQ(config->tls.client_key_file, dir_ + "/pki/client.key");
  EXPECT_EQ(config->token_file, dir_ + "/token");
}

// Embedded client certificate and key; insecure-skip-tls-verify only when said.
TEST_F(KubeConfigTest, ClientCertDataAndInsecure) {
  auto config =
      parse(kubeconfig("    server: https://k8s:6443\n    insecure-skip-tls-verify: true\n",
                       absl::StrCat("    client-certificate-data: ", b64(kCertPem),
                                    "\n    client-key-data: ", b64(kKeyPem), "\n")));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->tls.insecure_skip_verify);
  EXPECT_EQ(config->tls.client_cert_pem, kCertPem);
  EXPECT_EQ(config->tls.client_key_pem.reveal(), kKeyPem);
  EXPECT_TRUE(config->token.empty());
}

// An explicit context wins over current-context; without either it is an error.
TEST_F(KubeConfigTest, ContextSelection) {
  const std::string no_current = kubeconfig("    server: https://one:6443\n", "    token: a\n", "");
  // A second context (after "main" in the contexts list) and a second cluster.
  std::string two = kubeconfig("    server: https://one:6443\n", "    token: a\n",
                               "- name: other\n  context:\n    cluster: c2\n"
                               "current-context: main\n");
  two.replace(two.find("users:"), 0, "- name: c2\n  cluster:\n    server: https://two:6443\n");
  auto config = parse(two, "other");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://two:6443");
  EXPECT_TRUE(config->token.empty());  // context "other" names no user
  config = parse(two);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://one:6443");

  config = parse(no_current);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("current-context"));
  config = parse(two, "missing");
  EXPECT_THAT(std::string(config.status().message()),
              AllOf(HasSubstr("contexts"), HasSubstr("\"missing\"")));
}

// Every refused or broken field is named, with the file, and the token never appears.
TEST_F(KubeConfigTest, ErrorsNameFileAndField) {
  const std::string server = "    server: https://k8s:6443\n";
  const std::string token = absl::StrCat("    token: ", kToken, "\n");
  struct Case {
    std::string yaml;
    std::string field;
  };
  const std::vector<Case> cases = {
      {kubeconfig(server, token + "    exec:\n      command: aws\n"), "users[name=u].user.exec"},
      {kubeconfig(server, token + "    auth-provider:\n      name: gcp\n"),
       "users[name=u].user.auth-provider"},
      {kubeconfig(server, "    username: admin\n    password: pw\n"),
       "users[name=u].user.username"},
      {kubeconfig(server, token + "    as: root\n"), "users[name=u].user.as"},
      {kubeconfig(server + "    proxy-url: http://proxy:3128\n", token),
       "clusters[name=c].cluster.proxy-url"},
      {kubeconfig("    certificate-authority-data: x\n", token), "clusters[name=c].cluster.server"},
      {kubeconfig("    server: k8s:6443\n", token), "clusters[name=c].cluster.server"},
      {kubeconfig(server + "    certificate-authority-data: '!!!'\n", token),
       "clusters[name=c].cluster.certificate-authority-data"},
      {kubeconfig(server + "    certificate-authority-data: " + b64("not pem") + "\n", token),
       "clusters[name=c].cluster.certificate-authority-data"},
      {kubeconfig(server + "    certificate-authority: missing.crt\n", token),
       "clusters[name=c].cluster.certificate-authority"},
      {kubeconfig(server + "    insecure-skip-tls-verify: true\n    certificate-authority-data: " +
                      b64(kCaPem) + "\n",
                  token),
       "insecure-skip-tls-verify"},
      {kubeconfig(server + "    insecure-skip-tls-verify: maybe\n", token),
       "clusters[name=c].cluster.insecure-skip-tls-verify"},
      {kubeconfig(server, token + "    client-certificate-data: " + b64(kCertPem) + "\n"),
       "client-key"},
      {kubeconfig(server, "    client-certificate-data: " + b64(kCertPem) +
                              "\n    client-certificate: x.crt\n    client-key-data: " +
                              b64(kKeyPem) + "\n"),
       "client-certificate-data and client-certificate"},
      {kubeconfig(server, "    tokenFile: nowhere\n"), "users[name=u].user.tokenFile"},
      {kubeconfig(server, "    token: [1, 2]\n"), "users[name=u].user.token"},
      {"apiVersion: v1\ncurrent-context: main\ncontexts: []\n", "contexts"},
      {"apiVersion: v1\ncurrent-context: main\ncontexts:\n- name: main\n  context: {}\n",
       "contexts[name=main].context.cluster"},
      {"apiVersion: v1\ncurrent-context: main\ncontexts:\n- name: main\n  context:\n"
       "    cluster: gone\nclusters: []\n",
       "clusters"},
      {"- just\n- a list\n", "not a mapping"},
      {"clusters: [\n", "line"},
  };
  for (const Case& c : cases) {
    auto config = parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.field;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
    const std::string message(config.status().message());
    EXPECT_THAT(message, HasSubstr(dir_ + "/config")) << message;
    EXPECT_THAT(message, HasSubstr(c.field)) << message;
    EXPECT_THAT(message, Not(HasSubstr(kToken))) << message;
  }
  auto missing = loadKubeconfig(dir_ + "/absent");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(dir_ + "/absent"));
}

// --kubeconfig, then $KUBECONFIG (its first entry), then in-cluster, then ~/.kube/config.
TEST_F(KubeConfigTest, DefaultOrder) {
  const std::string one = write("one", kubeconfig("    server: https://one:1\n", "    token: a\n"));
  const std::string two = write("two", kubeconfig("    server: https://two:2\n", "    token: a\n"));
  write("home/.kube/config", kubeconfig("    server: https://home:3\n", "    token: a\n"));
  writeServiceAccount();
  vars_ = {{"HOME", dir_ + "/home"}};
  EXPECT_EQ(defaultKubeconfigPath(env_), dir_ + "/home/.kube/config");

  auto config = loadDefaultConfig("", "", env_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://home:3");

  vars_["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  vars_["KUBERNETES_SERVICE_PORT"] = "443";
  config = loadDefaultConfig("", "", env_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.0.0.1:443");

  vars_["KUBECONFIG"] = ":" + two + ":" + one;
  EXPECT_EQ(defaultKubeconfigPath(env_), two);
  config = loadDefaultConfig("", "", env_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://two:2");

  config = loadDefaultConfig(one, "", env_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://one:1");

  vars_ = {};
  config = loadDefaultConfig("", "", env_);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace secretsync::kube
