// End to end, with real parts: Debian's `prometheus` scrapes running `secretsync` processes while
// they work, and every PromQL expression of grafana/secretsync-dashboard.json and
// grafana/alerts.yaml is run through Prometheus' HTTP API. `promtool check metrics` checks each
// scrape, and a scrape of every metric family secretsync declares.
//
// The harness is a list of scrape targets (a process and its metrics port) under a job name: two
// CSI providers (job secretsync-csi-provider), one against the Vault double and one against a
// Vault that does not answer, and `secretsync controller` (job secretsync-controller) against the
// Kubernetes API double with ExternalSecrets reading from the Vault double. An expression must
// return data exactly when every family it reads was scraped; the others are listed with the
// families they wait for, so wiring a family into a process moves its expressions to "data"
// without touching this test.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pkg/common/read_file.h"
#include "pkg/common/yaml_json.h"
#include "pkg/metrics/metrics.h"
#include "prometheus/text_serializer.h"
#include "test/csi/csi_test_util.h"
#include "test/support/child_process.h"
#include "test/support/curl_test_client.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/kubeconfig.h"
#include "test/support/kube_double/seed.h"
#include "test/support/manifest_fixtures.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/seed.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync {
namespace {

using std::chrono::seconds;
using test::ChildProcess;

constexpr char kJwtKey[] = "demo-kubernetes-signing-key";  // the demo seed's
// Counters ESO named without _total; kept for ESO's dashboards and alerts, so promtool's naming
// lint about them is expected and nothing else is.
constexpr char kEsoCompatLint[] = "externalsecret_sync_calls_error";

// @return a free loopback TCP port (bound, read, released; a short race we accept in tests).
int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

std::string urlEncode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof(buffer), "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

// Runs `promtool check metrics` on `exposition`. @return its output lines that are problems,
// the ESO-compatibility lint excepted; "exit N" when it failed without saying why.
std::vector<std::string> promtoolProblems(const std::string& exposition, const std::string& dir) {
  const std::string in = dir + "/scrape.txt";
  const std::string out = dir + "/promtool.txt";
  std::ofstream(in) << exposition;
  const int status = std::system(
      (std::string(SECRETSYNC_PROMTOOL) + " check metrics < " + in + " > " + out + " 2>&1")
          .c_str());
  std::vector<std::string> problems;
  std::istringstream lines(common::readFile(out).value_or(""));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.find(kEsoCompatLint) == std::string::npos) {
      problems.push_back(line);
    }
  }
  if (status != 0 && problems.empty() && exposition.find(kEsoCompatLint) == std::string::npos) {
    problems.push_back("exit " + std::to_string(status));
  }
  return problems;
}

// @return the metric family names an expression reads (histogram suffixes folded).
std::set<std::string> familiesOf(const std::string& expr) {
  static const std::regex kName(
      R"(\b((?:secretsync|externalsecret|secretstore|clustersecretstore|workqueue|controller_runtime)_[a-z_]+))");
  static const std::regex kSuffix("_(bucket|count|sum)$");
  std::set<std::string> names;
  for (std::sregex_iterator it(expr.begin(), expr.end(), kName), end; it != end; ++it) {
    names.insert(std::regex_replace((*it)[1].str(), kSuffix, ""));
  }
  return names;
}

// @return the family names in a text exposition (its # TYPE lines).
std::set<std::string> familiesIn(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      names.insert(line.substr(7, line.find(' ', 7) - 7));
    }
  }
  return names;
}

struct Expression {
  std::string source;  // "dashboard: <panel>" or "alert: <name>"
  std::string expr;
  bool alert = false;
};

// Every expression of the dashboard and the alert rules, with Grafana's variables replaced by
// what a query of everything would use.
std::vector<Expression> loadExpressions() {
  std::vector<Expression> out;
  const auto dashboard = nlohmann::json::parse(
      common::readFile(SECRETSYNC_SOURCE_DIR "/grafana/secretsync-dashboard.json").value_or(""),
      nullptr, false);
  EXPECT_TRUE(dashboard.is_object());
  if (dashboard.is_object()) {
    for (const auto& panel : dashboard.value("panels", nlohmann::json::array())) {
      for (const auto& target : panel.value("targets", nlohmann::json::array())) {
        std::string expr = target.value("expr", "");
        expr = std::regex_replace(expr, std::regex(R"(\$job\b)"), ".+");
        expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "15s");
        out.push_back({"dashboard: " + panel.value("title", std::string()), expr, false});
      }
    }
  }
  auto rules = common::yamlToJsonSingle(
      common::readFile(SECRETSYNC_SOURCE_DIR "/grafana/alerts.yaml").value_or(""));
  EXPECT_TRUE(rules.ok()) << rules.status();
  if (rules.ok()) {
    for (const auto& group : (*rules)["groups"]) {
      for (const auto& rule : group["rules"]) {
        out.push_back(
            {"alert: " + rule.value("alert", std::string()), rule.value("expr", ""), true});
      }
    }
  }
  return out;
}

class ObservabilityE2eTest : public ::testing::Test {
 protected:
  struct Target {
    std::string job;
    std::string name;
    std::unique_ptr<ChildProcess> process;
    std::string log_path;
    int port = 0;
  };

  void SetUp() override {
    char dir_template[] = "/tmp/secretsync-obs-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    auto vault = test::VaultDouble::start();
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    // The demo's seed: Kubernetes auth role "app" (service account app in "default"), reading
    // secret/data/app/*.
    ASSERT_TRUE(
        test::applySeedFile(*vault_, SECRETSYNC_SOURCE_DIR "/test/support/testdata/demo_seed.json")
            .ok());
  }

  void TearDown() override {
    prometheus_.reset();
    targets_.clear();
    kube_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts `secretsync csi-provider` reading from `vault_address` and adds it as a target.
  void startCsiProvider(const std::string& name, const std::string& vault_address) {
    Target target;
    target.job = "secretsync-csi-provider";
    target.name = name;
    target.log_path = dir_ + "/" + name + ".log";
    const std::string socket = dir_ + "/" + name + ".sock";
    target.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{SECRETSYNC_BINARY, "csi-provider", "--socket", socket,
                                 "--vault-addr", vault_address, "--cache-ttl", "0",
                                 "--metrics-addr", "127.0.0.1:0"},
        target.log_path);
    for (int i = 0; i < 200 && (!std::filesystem::exists(socket) || portOf(target) == 0); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    target.port = portOf(target);
    ASSERT_NE(target.port, 0) << common::readFile(target.log_path).value_or("");
    sockets_[name] = socket;
    targets_.push_back(std::move(target));
  }

  // Starts `secretsync controller` against an in-process Kubernetes API double holding a
  // SecretStore (token auth against the Vault double) and two ExternalSecrets, one of which reads
  // a secret that does not exist, and adds it as a target.
  void startController() {
    auto kube = test::KubeDouble::start();
    ASSERT_TRUE(kube.ok()) << kube.status();
    kube_ = *std::move(kube);
    kube_->addToken("e2e-admin-token", "e2e-admin");
    const std::string seed =
        test::tokenStoreManifests("default", vault_->baseUrl(), "hvs.demo-app-token") +
        R"(apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: default}
spec:
  refreshInterval: 1s
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: db}
  data:
    - {secretKey: username, remoteRef: {key: app/db, property: username}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: missing, namespace: default}
spec:
  refreshInterval: 1s
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: missing}
  data:
    - {secretKey: x, remoteRef: {key: app/does-not-exist, property: x}}
)";
    auto objects = test::kube::parseSeed(seed);
    ASSERT_TRUE(objects.ok()) << objects.status();
    ASSERT_TRUE(test::kube::applySeed(*kube_, *objects).ok());
    const std::string kubeconfig = dir_ + "/kubeconfig";
    std::ofstream(kubeconfig) << test::kube::renderKubeconfig(
        {.server = kube_->baseUrl(), .token = "e2e-admin-token"});
    Target target;
    target.job = "secretsync-controller";
    target.name = "controller";
    target.log_path = dir_ + "/controller.log";
    target.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{SECRETSYNC_BINARY, "controller", "--kubeconfig", kubeconfig,
                                 "--metrics-addr", "127.0.0.1:0", "--health-addr", "0",
                                 "--cache-ttl", "0"},
        target.log_path);
    for (int i = 0; i < 200 && portOf(target) == 0 && target.process->running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    target.port = portOf(target);
    ASSERT_NE(target.port, 0) << common::readFile(target.log_path).value_or("");
    targets_.push_back(std::move(target));
  }

  // The metrics port a process logged ("serving metrics" with "port").
  static int portOf(const Target& target) {
    std::istringstream lines(common::readFile(target.log_path).value_or(""));
    for (std::string line; std::getline(lines, line);) {
      if (line.find("serving metrics") != std::string::npos) {
        const auto json = nlohmann::json::parse(line, nullptr, false);
        return json.is_object() ? json.value("port", 0) : 0;
      }
    }
    return 0;
  }

  // Starts Prometheus scraping every target each second.
  void startPrometheus() {
    std::map<std::string, std::vector<std::string>> jobs;
    for (const Target& target : targets_) {
      jobs[target.job].push_back("127.0.0.1:" + std::to_string(target.port));
    }
    std::ostringstream config;
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n";
    for (const auto& [job, addresses] : jobs) {
      config << "  - job_name: " << job << "\n    static_configs:\n      - targets: [";
      for (size_t i = 0; i < addresses.size(); ++i) {
        config << (i > 0 ? ", " : "") << "'" << addresses[i] << "'";
      }
      config << "]\n";
    }
    std::ofstream(dir_ + "/prometheus.yml") << config.str();
    prometheus_port_ = freePort();
    prometheus_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            SECRETSYNC_PROMETHEUS, "--config.file=" + dir_ + "/prometheus.yml",
            "--storage.tsdb.path=" + dir_ + "/tsdb",
            "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_)},
        dir_ + "/prometheus.log");
    for (int i = 0; i < 300; ++i) {
      if (http_.request("GET", prometheusUrl() + "/-/ready").status == 200) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "prometheus did not become ready: "
           << common::readFile(dir_ + "/prometheus.log").value_or("");
  }

  std::string prometheusUrl() const {
    return "http://127.0.0.1:" + std::to_string(prometheus_port_);
  }

  nlohmann::json query(const std::string& expr) {
    const auto response =
        http_.request("GET", prometheusUrl() + "/api/v1/query?query=" + urlEncode(expr));
    return nlohmann::json::parse(response.body, nullptr, false);
  }

  // @return how many times Prometheus has scraped the target scraped least (0 if not yet).
  int scrapes() {
    const auto result = query("min(count_over_time(up[10m]))");
    if (!result.is_object() || result["data"]["result"].size() != 1) {
      return 0;
    }
    return std::stoi(result["data"]["result"][0]["value"][1].get<std::string>());
  }

  // Waits until every target has been scraped `more` more times.
  void waitForScrapes(int more) {
    const int target = scrapes() + more;
    for (int i = 0; i < 300 && scrapes() < target; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_GE(scrapes(), target) << "targets not scraped";
  }

  // CSI mounts through the provider `name`: `pods` pods of one identity, each mounting every
  // object; with `bad_role`, a role Vault does not know.
  void mountAll(const std::string& name, int pods, bool bad_role = false) {
    csi::testing::ProviderClient client(sockets_[name]);
    const std::string objects =
        "- {objectName: user, secretPath: secret/data/app/db, secretKey: username}\n"
        "- {objectName: api, secretPath: secret/data/app/api, secretKey: api_key}\n"
        "- {objectName: config.json, secretPath: secret/data/app/config}\n";
    for (int p = 0; p < pods; ++p) {
      csi::testing::TestPod pod;
      pod.name = "app-" + std::to_string(p);
      pod.namespace_name = "default";
      pod.uid = "uid-" + std::to_string(p);
      pod.tokens["vault"] = test::mintServiceAccountJwt(
          kJwtKey, "default", "app", {"vault"},
          std::chrono::system_clock::now() + std::chrono::hours(1), pod.uid);
      client.mount(csi::testing::driverRequest(
          {{"roleName", bad_role ? "nobody" : "app"}, {"objects", objects}}, pod));
    }
  }

  std::string scrape(const Target& target) {
    return http_.request("GET", "http://127.0.0.1:" + std::to_string(target.port) + "/metrics")
        .body;
  }

  std::unique_ptr<test::VaultDouble> vault_;
  std::unique_ptr<test::KubeDouble> kube_;
  std::string dir_;
  std::vector<Target> targets_;
  std::map<std::string, std::string> sockets_;
  std::unique_ptr<ChildProcess> prometheus_;
  int prometheus_port_ = 0;
  test::CurlTestClient http_;
};

TEST_F(ObservabilityE2eTest, PrometheusScrapesAndEveryExpressionIsAnswered) {
  startCsiProvider("csi-a", vault_->baseUrl());
  // A Vault nobody answers: a port just released.
  startCsiProvider("csi-down", "http://127.0.0.1:" + std::to_string(freePort()));
  startController();
  startPrometheus();
  waitForScrapes(1);

  // Two rounds of work with scrapes between them: the first creates every series, the second
  // moves them after Prometheus has seen them, so rates and quantiles have an increase to show
  // (a counter's first sample is no increase).
  for (int round = 0; round < 2; ++round) {
    mountAll("csi-a", 5);
    vault_->addFault(test::vault::FaultRule::error(503, "", 1));
    mountAll("csi-a", 1);
    vault_->clearFaults();
    mountAll("csi-a", 1, /*bad_role=*/true);
    mountAll("csi-down", 1);
    waitForScrapes(2);
  }

  // The controller did its work: the Secret of the readable ExternalSecret exists.
  const auto secret = kube_->getObject("v1", "Secret", "default", "db");
  ASSERT_TRUE(secret.has_value()) << common::readFile(dir_ + "/controller.log").value_or("");
  EXPECT_TRUE((*secret)["data"].contains("username"));

  // promtool check metrics on what each process serves.
  std::set<std::string> scraped;
  for (const Target& target : targets_) {
    const std::string text = scrape(target);
    EXPECT_THAT(text, ::testing::HasSubstr(target.job == "secretsync-controller"
                                               ? "secretsync_vault_requests_total"
                                               : "secretsync_csi_mount_duration_seconds"))
        << target.name;
    EXPECT_THAT(promtoolProblems(text, dir_), ::testing::IsEmpty()) << target.name;
    const auto families = familiesIn(text);
    scraped.insert(families.begin(), families.end());
  }

  const std::vector<Expression> expressions = loadExpressions();
  ASSERT_GE(expressions.size(), 30u);
  // What this run provokes: mount errors, a Vault nobody answers, an ExternalSecret reading a
  // secret that does not exist (sync errors, refresh failures, stale past twice its 1 s interval).
  const std::set<std::string> must_fire = {
      "alert: SecretsyncCsiMountErrors", "alert: SecretsyncVaultUnreachable",
      "alert: SecretsyncExternalSecretSyncErrors", "alert: SecretsyncRefreshFailures",
      "alert: SecretsyncSecretsStale"};
  int with_data = 0;
  std::ostringstream report;
  for (const Expression& e : expressions) {
    const auto answer = query(e.expr);
    ASSERT_TRUE(answer.is_object()) << e.expr;
    EXPECT_EQ(answer.value("status", ""), "success")
        << e.source << ": " << e.expr << " -> " << answer.dump();
    const auto& result = answer["data"]["result"];
    bool has_number = false;
    for (const auto& sample : result) {
      const std::string value = sample["value"][1].get<std::string>();
      has_number = has_number || (value != "NaN");
    }
    std::vector<std::string> missing;
    for (const std::string& family : familiesOf(e.expr)) {
      if (!scraped.count(family)) {
        missing.push_back(family);
      }
    }
    std::string verdict;
    if (has_number) {
      ++with_data;
      verdict = e.alert ? "FIRING (data)" : "data";
    } else if (!missing.empty()) {
      verdict = "no data: needs " + ::testing::PrintToString(missing) +
                " (no running process exports them yet)";
    } else if (e.alert) {
      verdict = "not firing: condition not met in this run";
    } else {
      verdict = "NO DATA";
      ADD_FAILURE() << e.source << ": every family it reads was scraped, yet no data: " << e.expr;
    }
    if (must_fire.count(e.source)) {
      EXPECT_TRUE(has_number) << e.source << " should fire in this run: " << e.expr;
    }
    report << "  " << e.source << " -> " << verdict << "\n";
  }
  std::printf("observability e2e: %d of %zu expressions returned data\n%s", with_data,
              expressions.size(), report.str().c_str());
  EXPECT_GE(with_data, 30);
}

// promtool check metrics on a scrape holding every family secretsync declares, each with data.
TEST(MetricsExpositionTest, EveryDeclaredFamilyPassesPromtool) {
  metrics::Metrics m(std::make_shared<prometheus::Registry>(), {"0.1.0", "abc"});
  using metrics::ObjectKind;
  m.observeVaultRequest("GET", "secret/data/*", 200, std::chrono::milliseconds(2));
  m.observeCsiMount("Unavailable", std::chrono::milliseconds(3));
  m.recordSync("prod", "db", false, std::chrono::milliseconds(4));
  m.setCondition("prod", "db", metrics::Condition::kReady, metrics::ConditionStatus::kFalse);
  m.setStoreReady(metrics::StoreKind::kSecretStore, "prod", "v", metrics::ConditionStatus::kTrue);
  m.setStoreReady(metrics::StoreKind::kClusterSecretStore, "", "v",
                  metrics::ConditionStatus::kTrue);
  m.recordStoreReconcile(metrics::StoreKind::kSecretStore, "prod", "v", std::chrono::seconds(1));
  m.recordStoreReconcile(metrics::StoreKind::kClusterSecretStore, "", "v", std::chrono::seconds(1));
  m.recordRefresh(ObjectKind::kExternalSecret, "SecretStore/prod/v", std::chrono::seconds(1));
  m.recordFailure(ObjectKind::kExternalSecret, "SecretStore/prod/v",
                  metrics::FailureReason::kSecretNotFound);
  m.setLastSuccess(ObjectKind::kExternalSecret, "prod", "db", std::chrono::system_clock::now());
  m.setRefreshInterval(ObjectKind::kExternalSecret, "prod", "db", seconds(60));
  m.setTokenTtl("SecretStore/prod/v", "role", seconds(60));
  m.recordKubeRequest("patch", "secrets", 200);
  metrics::WorkQueueMetrics queue = m.workQueue("externalsecret");
  queue.onAdd();
  queue.onDepth(1);
  m.recordReconcile("externalsecret", metrics::ReconcileResult::kSuccess,
                    std::chrono::milliseconds(5));
  m.setWorkers("externalsecret", 1, 4);
  m.addCounterSource("secretsync_store_reads_total", "Reads.", [] { return 1.0; });
  const std::string text = prometheus::TextSerializer().Serialize(m.Collect());

  char dir_template[] = "/tmp/secretsync-promtool-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  EXPECT_THAT(promtoolProblems(text, dir_template), ::testing::IsEmpty()) << text;
  std::filesystem::remove_all(dir_template);
  // Every family the dashboard or the alerts read is in this scrape, or comes from a component
  // counted elsewhere (addCounterSource in a command).
  std::set<std::string> families = familiesIn(text);
  families.insert("secretsync_store_reads_saved_total");
  for (const Expression& e : loadExpressions()) {
    for (const std::string& family : familiesOf(e.expr)) {
      EXPECT_TRUE(families.count(family)) << e.source << " reads undeclared " << family;
    }
  }
}

}  // namespace
}  // namespace secretsync
