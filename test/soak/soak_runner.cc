#include "test/soak/soak_runner.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pkg/common/clock.h"
#include "pkg/common/read_file.h"
#include "pkg/common/secret_string.h"
#include "pkg/common/status_macros.h"
#include "pkg/sync/atomic_dir_writer.h"
#include "test/csi/csi_test_util.h"
#include "test/soak/fault_schedule.h"
#include "test/soak/invariants.h"
#include "test/soak/process_stats.h"
#include "test/support/child_process.h"
#include "test/support/curl_test_client.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/kube_faults.h"
#include "test/support/kube_double/kubeconfig.h"
#include "test/support/test_pki.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::soak {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kNs[] = "soak";
constexpr char kSystemNs[] = "secretsync-system";
constexpr char kControllerToken[] = "soak-controller-token";
constexpr char kHarnessToken[] = "soak-harness-token";
constexpr char kServiceAccountKey[] = "soak-service-account-signing-key";
constexpr char kLeaseName[] = "secretsync-controller";
constexpr char kCsiObjects[] =
    "- {objectName: a, secretPath: secret/data/csi/c0, secretKey: user}\n"
    "- {objectName: b, secretPath: secret/data/csi/c1, secretKey: pass}\n"
    "- {objectName: c, secretPath: secret/data/csi/c0, secretKey: pass}\n";
// What each CSI file holds: (path, key), as kCsiObjects says.
const std::map<std::string, std::pair<std::string, std::string>>& csiFiles() {
  static const auto* const kFiles = new std::map<std::string, std::pair<std::string, std::string>>{
      {"a", {"csi/c0", "user"}}, {"b", {"csi/c1", "pass"}}, {"c", {"csi/c0", "pass"}}};
  return *kFiles;
}
constexpr int kCsiPods = 4;
// A Ready=False within this long after a fault counts as caused by it: a reconcile that failed
// during the fault may be written (or retried and written again) a little later, after
// backoff, a leader hand-over (the Lease lasts 15 s) or an API-server outage.
constexpr milliseconds kFaultGrace{seconds(20)};

// Vault's time for the token store: real wall time (JWT checks, timestamps), but a monotonic
// clock that the token-expiry fault moves forward, so every login token expires at once, as if
// the controller had been paused past their max TTL.
//
// Thread-safety: all methods are safe from any thread.
class OffsetClock final : public common::Clock {
 public:
  common::SystemTime now() const override { return std::chrono::system_clock::now(); }
  common::MonotonicTime monotonicNow() const override {
    return std::chrono::steady_clock::now() + milliseconds(offset_ms_.load());
  }
  void sleepFor(std::chrono::nanoseconds duration) override {
    std::this_thread::sleep_for(duration);
  }
  void advance(milliseconds by) { offset_ms_.fetch_add(by.count()); }

 private:
  std::atomic<int64_t> offset_ms_{0};
};

// One secretsync child (a controller replica or the CSI provider) across its restarts.
struct Child {
  enum class Expect { kRunning, kSigkill, kSigterm };
  std::string name;
  std::vector<std::string> argv;
  std::unique_ptr<test::ChildProcess> process;
  Expect expect = Expect::kRunning;
  int lifetime = 0;
  std::string log_path;
  std::vector<std::string> logs;
  std::vector<ProcessStats> stats;  // one per lifetime
  bool is_controller = false;
};

struct ActiveFault {
  ScheduledFault fault;
  Clock::time_point started;
  std::vector<uint64_t> vault_rules;
  std::vector<uint64_t> kube_rules;
  std::thread restart;  // kKubeRestart: runs restartServer()
  Child* child = nullptr;
  bool stacks_dumped = false;
};

std::string base64(const std::string& text) { return absl::Base64Escape(text); }

Json secretStore(const std::string& name, const std::string& vault_url, const std::string& ca_pem,
                 const Json& auth, int refresh_seconds) {
  return Json{{"apiVersion", "external-secrets.io/v1"},
              {"kind", "SecretStore"},
              {"metadata", {{"name", name}, {"namespace", kNs}}},
              {"spec",
               {{"refreshInterval", refresh_seconds},
                {"provider",
                 {{"vault",
                   {{"server", vault_url},
                    {"path", "secret"},
                    {"version", "v2"},
                    {"caBundle", base64(ca_pem)},
                    {"auth", auth}}}}}}}};
}

Json esData(const std::string& path) {
  Json data = Json::array();
  for (const std::string& key : secretKeys()) {
    data.push_back({{"secretKey", key}, {"remoteRef", {{"key", path}, {"property", key}}}});
  }
  return data;
}

Json externalSecret(const std::string& name, const std::string& secret, const std::string& store,
                    const std::string& path, const std::string& refresh) {
  return Json{{"apiVersion", "external-secrets.io/v1"},
              {"kind", "ExternalSecret"},
              {"metadata", {{"name", name}, {"namespace", kNs}}},
              {"spec",
               {{"refreshInterval", refresh},
                {"secretStoreRef", {{"name", store}, {"kind", "SecretStore"}}},
                {"target", {{"name", secret}, {"creationPolicy", "Owner"}}},
                {"data", esData(path)}}}};
}

// @return the decoded data of a Secret object, or nullopt when it has none that decodes.
std::optional<std::map<std::string, std::string>> secretData(const Json& secret) {
  std::map<std::string, std::string> out;
  auto data = secret.find("data");
  if (data == secret.end() || !data->is_object()) return out;
  for (const auto& [key, value] : data->items()) {
    std::string decoded;
    if (!value.is_string() || !absl::Base64Unescape(value.get<std::string>(), &decoded)) {
      return std::nullopt;
    }
    out[key] = decoded;
  }
  return out;
}

std::string readyStatus(const Json& es) {
  auto status = es.find("status");
  if (status == es.end() || !status->is_object()) return "";
  auto conditions = status->find("conditions");
  if (conditions == status->end() || !conditions->is_array()) return "";
  for (const Json& c : *conditions) {
    if (c.is_object() && c.value("type", "") == "Ready" && c.contains("status") &&
        c["status"].is_string()) {
      return c["status"].get<std::string>();
    }
  }
  return "";
}

double secondsOf(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

class Soak {
 public:
  explicit Soak(SoakOptions options)
      : options_(std::move(options)), checker_(kFaultGrace), rng_(options_.seed) {}
  ~Soak() { shutdownThreads(); }

  absl::Status setUp();
  Json run();

 private:
  // --- setup ---
  absl::Status seedVault();
  absl::Status seedKube();
  void startChild(Child& child);
  absl::Status waitForInitialSync();

  // --- the run ---
  void tick(Clock::time_point now);
  void observe(Clock::time_point now);
  void scanWriteLog();
  void sampleProcesses(Clock::time_point now);
  void supervise(Child& child);
  void startFault(const ScheduledFault& fault);
  bool endFault(ActiveFault& active, Clock::time_point now);
  Child* leader();

  // --- workload threads ---
  void workloadLoop();
  void vaultWrite(const std::string& path);
  void esAction(std::mt19937_64& rng);
  bool kubeRequest(test::CurlTestClient& client, const std::string& method, const std::string& path,
                   const Json& body, const std::string& content_type);
  void csiMountLoop(int thread_index);
  void csiReadLoop();
  bool checkCsiMount(const v1alpha1::MountResponse& response, bool current_only);
  csi::testing::TestPod csiPod(int index);

  void finish(Json* summary);
  void shutdownThreads();
  void violation(std::string message) {
    std::lock_guard lock(mu_);
    checker_.addViolation(std::move(message));
  }
  Clock::duration sinceStart() const { return Clock::now() - t0_; }

  SoakOptions options_;
  test::TestPki pki_;
  OffsetClock vault_clock_;
  std::unique_ptr<test::KubeDouble> kube_;
  std::unique_ptr<test::VaultDouble> vault_;
  std::string ca_file_;
  std::string kubeconfig_;
  std::string socket_;
  std::string vault_token_;  // of the tokenSecretRef store
  // Service-account token of each CSI pod and when it was minted; the driver (kubelet) passes a
  // fresh one before the old one expires, so does the harness.
  std::vector<std::pair<std::string, Clock::time_point>> csi_tokens_;

  Child controllers_[2];
  Child csi_;

  std::mutex mu_;  // guards checker_, ledger_, generations_, live_es_ and the counters below
  InvariantChecker checker_;
  MountLedger ledger_;
  std::map<std::string, uint64_t> generations_;  // Vault path -> last generation written
  std::map<std::string, std::string> live_es_;   // name -> Vault path
  int next_es_ = 0;
  std::map<std::string, uint64_t> counters_;

  std::mt19937_64 rng_;
  std::vector<ScheduledFault> schedule_;
  size_t next_fault_ = 0;
  std::vector<std::unique_ptr<ActiveFault>> active_;
  std::map<FaultKind, uint64_t> injected_;
  size_t write_log_seen_ = 0;

  Clock::time_point t0_;
  std::optional<Clock::time_point> last_fault_end_;
  std::optional<Clock::duration> catch_up_time_;
  std::optional<Clock::duration> final_convergence_;

  std::atomic<bool> stop_workload_{false};
  std::atomic<bool> stop_csi_{false};
  std::vector<std::thread> threads_;
};

absl::Status Soak::setUp() {
  ASSIGN_OR_RETURN(pki_, test::TestPki::generate());
  ca_file_ = options_.workdir + "/ca.crt";
  kubeconfig_ = options_.workdir + "/kubeconfig";
  socket_ = options_.workdir + "/csi.sock";
  std::ofstream(ca_file_) << pki_.ca.cert_pem;

  test::KubeDoubleOptions kube_options;
  kube_options.tls = pki_.serverConfig();
  kube_options.tokens = {{kControllerToken, "system:serviceaccount:secretsync-system:secretsync"},
                         {kHarnessToken, "soak-operator"}};
  kube_options.service_account_key = kServiceAccountKey;
  kube_options.bookmark_interval = seconds(1);
  ASSIGN_OR_RETURN(kube_, test::KubeDouble::start(kube_options));

  test::VaultDoubleOptions vault_options;
  vault_options.tls = pki_.serverConfig();
  vault_options.clock = &vault_clock_;
  ASSIGN_OR_RETURN(vault_, test::VaultDouble::start(vault_options));

  RETURN_IF_ERROR(seedVault());
  RETURN_IF_ERROR(seedKube());
  std::ofstream(kubeconfig_) << test::kube::renderKubeconfig(
      {.server = kube_->baseUrl(), .token = kControllerToken, .ca_pem = pki_.ca.cert_pem});
  ::chmod(kubeconfig_.c_str(), 0600);

  for (int i = 0; i < 2; ++i) {
    Child& c = controllers_[i];
    c.name = i == 0 ? "controller-a" : "controller-b";
    c.is_controller = true;
    c.argv = {options_.secretsync,
              "controller",
              "--kubeconfig",
              kubeconfig_,
              "--leader-elect",
              "--leader-election-namespace",
              kSystemNs,
              "--health-addr",
              "0",
              "--metrics-addr",
              "0",
              "--concurrent",
              "2",
              "--cache-ttl",
              "1s",
              "--log-level",
              "info"};
    startChild(c);
  }
  csi_.name = "csi-provider";
  csi_.argv = {options_.secretsync, "csi-provider",
               "--socket",          socket_,
               "--vault-addr",      vault_->baseUrl(),
               "--vault-ca-file",   ca_file_,
               "--cache-ttl",       "1s",
               "--log-level",       "info"};
  startChild(csi_);
  return waitForInitialSync();
}

absl::Status Soak::seedVault() {
  vault_->putPolicy("soak-reader", {{"secret/data/app/*", {test::vault::Capability::kRead}},
                                    {"secret/data/csi/*", {test::vault::Capability::kRead}}});
  vault_->enableKubernetesAuth("kubernetes", {.jwt_hs256_key = kServiceAccountKey,
                                              .token_reviewer = kube_->tokenReviewer()});
  // Short token TTLs: renewals and re-logins happen all the time, not only under faults. Role
  // "app" is the controller's SecretStore identity, "csi" the CSI pods'.
  for (const auto& [role, service_account] :
       std::vector<std::pair<std::string, std::string>>{{"app", "app"}, {"csi", "csi-app"}}) {
    RETURN_IF_ERROR(
        vault_->addKubernetesRole("kubernetes", {.name = role,
                                                 .bound_service_account_names = {service_account},
                                                 .bound_service_account_namespaces = {kNs},
                                                 .audience = "vault",
                                                 .policies = {"soak-reader"},
                                                 .token_ttl = seconds(30),
                                                 .token_max_ttl = seconds(120)}));
  }
  vault_token_ = vault_->createToken({"soak-reader"});
  for (int i = 0; i < options_.vault_paths; ++i) vaultWrite(absl::StrCat("app/p", i));
  vaultWrite("csi/c0");
  vaultWrite("csi/c1");
  return absl::OkStatus();
}

absl::Status Soak::seedKube() {
  RETURN_IF_ERROR(kube_->createNamespace(kNs));
  RETURN_IF_ERROR(kube_->createNamespace(kSystemNs));
  for (const char* sa : {"app", "csi-app"}) {
    RETURN_IF_ERROR(kube_
                        ->putObject({{"apiVersion", "v1"},
                                     {"kind", "ServiceAccount"},
                                     {"metadata", {{"name", sa}, {"namespace", kNs}}}})
                        .status());
  }
  RETURN_IF_ERROR(kube_
                      ->putObject({{"apiVersion", "v1"},
                                   {"kind", "Secret"},
                                   {"metadata", {{"name", "vault-token"}, {"namespace", kNs}}},
                                   {"data", {{"token", base64(vault_token_)}}}})
                      .status());
  RETURN_IF_ERROR(kube_
                      ->putObject(secretStore(
                          "vault-k8s", vault_->baseUrl(), pki_.ca.cert_pem,
                          {{"kubernetes",
                            {{"mountPath", "kubernetes"},
                             {"role", "app"},
                             {"serviceAccountRef", {{"name", "app"}, {"audiences", {"vault"}}}}}}},
                          300))
                      .status());
  RETURN_IF_ERROR(kube_
                      ->putObject(secretStore(
                          "vault-token", vault_->baseUrl(), pki_.ca.cert_pem,
                          {{"tokenSecretRef", {{"name", "vault-token"}, {"key", "token"}}}}, 300))
                      .status());
  csi_tokens_.resize(kCsiPods + 1);  // the last one for the final check
  for (int i = 0; i < options_.external_secrets; ++i) {
    const std::string name = absl::StrCat("es-", next_es_);
    const std::string path = absl::StrCat("app/p", i % options_.vault_paths);
    {
      std::lock_guard lock(mu_);
      checker_.externalSecretCreated(name, absl::StrCat("sec-", next_es_), path);
      live_es_[name] = path;
    }
    RETURN_IF_ERROR(kube_
                        ->putObject(externalSecret(name, absl::StrCat("sec-", next_es_),
                                                   i % 2 == 0 ? "vault-k8s" : "vault-token", path,
                                                   i % 3 == 0 ? "2s" : "1s"))
                        .status());
    ++next_es_;
  }
  return absl::OkStatus();
}

void Soak::startChild(Child& child) {
  ++child.lifetime;
  child.log_path = absl::StrCat(options_.workdir, "/", child.name, ".", child.lifetime, ".log");
  child.logs.push_back(child.log_path);
  // secretsync makes itself non-dumpable (no core dumps with secrets in them), which also makes
  // /proc/PID/fd owned by root; allowing core dumps keeps it readable for the fd samples.
  child.process = std::make_unique<test::ChildProcess>(
      child.argv, child.log_path, std::vector<std::string>{"SECRETSYNC_ALLOW_CORE_DUMPS=1"});
  child.expect = Child::Expect::kRunning;
  child.stats.emplace_back(absl::StrCat(child.name, "#", child.lifetime));
}

absl::Status Soak::waitForInitialSync() {
  const auto deadline = Clock::now() + options_.convergence_bound * 2;
  while (Clock::now() < deadline) {
    observe(Clock::now());
    std::lock_guard lock(mu_);
    if (checker_.allConverged() && checker_.allReady()) return absl::OkStatus();
  }
  std::vector<std::string> lagging;
  std::lock_guard lock(mu_);
  checker_.allConverged(&lagging);
  return absl::DeadlineExceededError(
      absl::StrCat("initial sync did not finish; lagging: ", absl::StrJoin(lagging, ", "),
                   "; see the logs in ", options_.workdir));
}

// --- Observation ------------------------------------------------------------------------

void Soak::observe(Clock::time_point now) {
  std::vector<std::pair<std::string, std::string>> es;  // ES name, Secret name
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, path] : live_es_) {
      es.emplace_back(name, absl::StrCat("sec-", name.substr(3)));
    }
  }
  for (const auto& [name, secret] : es) {
    std::optional<Json> object =
        kube_->getObject("external-secrets.io/v1", "ExternalSecret", kNs, name);
    std::optional<Json> s = kube_->getObject("v1", "Secret", kNs, secret);
    std::optional<std::map<std::string, std::string>> data;
    if (s.has_value()) {
      data = secretData(*s);
      if (!data.has_value()) {
        violation(absl::StrCat("Secret ", secret, " has data that is not base64"));
        continue;
      }
    }
    std::lock_guard lock(mu_);
    if (live_es_.count(name) == 0) continue;  // deleted meanwhile
    checker_.observeSecret(now, name, data);
    if (object.has_value()) checker_.observeReady(now, name, readyStatus(*object));
  }
  std::this_thread::sleep_for(milliseconds(250));
}

void Soak::scanWriteLog() {
  const std::vector<test::KubeWriteRecord> log = kube_->writeLog();
  std::lock_guard lock(mu_);
  for (size_t i = write_log_seen_; i < log.size(); ++i) {
    const test::KubeWriteRecord& r = log[i];
    if (r.namespace_name != kNs) continue;
    if (r.resource == "secrets" && absl::StartsWith(r.name, "sec-")) {
      if (r.verb == "delete") {
        const std::string es = absl::StrCat("es-", r.name.substr(4));
        if (live_es_.count(es) > 0) {
          checker_.addViolation(absl::StrCat("Secret ", r.name, " was deleted (by ", r.user,
                                             ") while ExternalSecret ", es, " exists"));
        }
      } else if (r.changed) {
        ++counters_["secret_writes"];
      }
    } else if (r.resource == "externalsecrets/status" && r.changed) {
      ++counters_["status_writes"];
    }
  }
  write_log_seen_ = log.size();
}

void Soak::sampleProcesses(Clock::time_point now) {
  for (Child* child : {&controllers_[0], &controllers_[1], &csi_}) {
    if (child->process == nullptr || child->process->pid() <= 0) continue;
    auto sample =
        sampleProcess(child->process->pid(), std::chrono::duration_cast<milliseconds>(now - t0_));
    if (sample.ok()) {
      child->stats.back().add(*sample);
    } else if (absl::IsPermissionDenied(sample.status())) {
      violation(absl::StrCat(child->name, ": cannot sample fds: ", sample.status().message()));
    }
  }
}

void Soak::supervise(Child& child) {
  if (child.process == nullptr || child.process->running()) return;
  const int status = child.process->exitStatus().value_or(0);
  const bool exited = WIFEXITED(status);
  const int code = exited ? WEXITSTATUS(status) : -WTERMSIG(status);
  child.process.reset();
  switch (child.expect) {
    case Child::Expect::kSigkill:
      return;  // restarted when the fault ends
    case Child::Expect::kSigterm:
      if (!exited || code != 0) {
        violation(absl::StrCat(child.name, " exited with ", code, " after SIGTERM (want 0)"));
      }
      return;
    case Child::Expect::kRunning:
      break;
  }
  const std::string log = common::readFile(child.log_path).value_or("");
  if (child.is_controller && exited && code == 1 &&
      absl::StrContains(log, "lost the leader lease")) {
    // By design (client-go's convention): a leader that could not renew exits to be restarted.
    std::lock_guard lock(mu_);
    ++counters_["lease_lost_exits"];
  } else {
    violation(absl::StrCat(child.name, " exited unexpectedly (", exited ? "code " : "signal ",
                           exited ? code : -code, "); log ", child.log_path));
  }
  startChild(child);  // as the kubelet would
}

// --- Faults -------------------------------------------------------------------------------

Child* Soak::leader() {
  auto lease = kube_->getObject("coordination.k8s.io/v1", "Lease", kSystemNs, kLeaseName);
  if (!lease.has_value() || !(*lease)["spec"].is_object()) return nullptr;
  const std::string holder = (*lease)["spec"].value("holderIdentity", "");
  if (holder.empty()) return nullptr;
  for (Child& c : controllers_) {
    if (c.process == nullptr) continue;
    std::istringstream lines(common::readFile(c.log_path).value_or(""));
    for (std::string line; std::getline(lines, line);) {
      Json entry = Json::parse(line, nullptr, false);
      if (entry.is_object() && entry.value("msg", "") == "controller started" &&
          entry.value("identity", "") == holder) {
        return &c;
      }
    }
  }
  return nullptr;
}

void Soak::startFault(const ScheduledFault& fault) {
  auto active = std::make_unique<ActiveFault>();
  active->fault = fault;
  active->started = Clock::now();
  ++injected_[fault.kind];
  namespace kf = test::kube;
  using test::vault::FaultRule;
  switch (fault.kind) {
    case FaultKind::kVault5xxStorm:
      active->vault_rules.push_back(vault_->addFault(FaultRule::error(503, "soak: injected")));
      break;
    case FaultKind::kVault429Storm:
      active->vault_rules.push_back(vault_->addFault(FaultRule::rateLimited("1")));
      break;
    case FaultKind::kVaultLatency:
      active->vault_rules.push_back(
          vault_->addFault(FaultRule::latencyOnly(milliseconds(fault.param))));
      break;
    case FaultKind::kVaultDropConnection:
      active->vault_rules.push_back(vault_->addFault(FaultRule::dropConnection()));
      break;
    case FaultKind::kVaultTokenExpiry:
      vault_clock_.advance(std::chrono::hours(1));
      break;
    case FaultKind::kVaultTokenRevoke:
      vault_->revokeToken(vault_token_);
      break;
    case FaultKind::kKubeConflict:
      for (const char* method : {"PUT", "PATCH"}) {
        for (const std::string& prefix :
             {absl::StrCat("/api/v1/namespaces/", kNs, "/secrets"),
              absl::StrCat("/apis/external-secrets.io/v1/namespaces/", kNs, "/externalsecrets")}) {
          FaultRule rule = kf::statusFault(
              409, "Conflict",
              "Operation cannot be fulfilled: the object has been modified; please apply your "
              "changes to the latest version and try again");
          rule.method = method;
          rule.path_prefix = prefix;
          active->kube_rules.push_back(kube_->addFault(rule));
        }
      }
      break;
    case FaultKind::kKube500:
      active->kube_rules.push_back(
          kube_->addFault(kf::statusFault(500, "InternalError", "soak: injected")));
      break;
    case FaultKind::kKube429:
      active->kube_rules.push_back(kube_->addFault(kf::tooManyRequestsFault(1)));
      break;
    case FaultKind::kKubeWatchExpiry:
      kube_->compactHistory();
      kube_->forceGoneOnNextWatch();
      kube_->closeWatches();
      break;
    case FaultKind::kKubeRestart:
      active->restart = std::thread([this, down = fault.duration] {
        absl::Status restarted = kube_->restartServer(down);
        if (!restarted.ok()) {
          violation(absl::StrCat("API server restart failed: ", restarted.message()));
        }
      });
      break;
    case FaultKind::kControllerKill:
      active->child = &controllers_[fault.param % 2];
      break;
    case FaultKind::kLeaderChange:
      active->child = leader();
      if (active->child == nullptr) active->child = &controllers_[0];
      break;
    case FaultKind::kCsiProviderKill:
      active->child = &csi_;
      break;
  }
  if (active->child != nullptr && active->child->process == nullptr) {
    active->child = nullptr;  // already down (being restarted): nothing to kill this time
  }
  if (Child* child = active->child; child != nullptr) {
    const bool term = fault.kind == FaultKind::kLeaderChange;
    child->expect = term ? Child::Expect::kSigterm : Child::Expect::kSigkill;
    child->process->sendSignal(term ? SIGTERM : SIGKILL);
  }
  std::printf("[%7.1fs] fault %s start (for %.1fs)\n", secondsOf(sinceStart()),
              std::string(faultKindName(fault.kind)).c_str(),
              std::chrono::duration<double>(fault.duration).count());
  std::lock_guard lock(mu_);
  checker_.recordFault(active->started, active->started + fault.duration);
  active_.push_back(std::move(active));
}

// @return whether the fault is over (else it is retried next tick).
bool Soak::endFault(ActiveFault& active, Clock::time_point now) {
  if (now < active.started + active.fault.duration) return false;
  for (uint64_t id : active.vault_rules) vault_->removeFault(id);
  for (uint64_t id : active.kube_rules) kube_->removeFault(id);
  active.vault_rules.clear();
  active.kube_rules.clear();
  if (active.restart.joinable()) active.restart.join();
  if (active.fault.kind == FaultKind::kVaultTokenRevoke) {
    // The operator rotates the revoked token: a new one in the store's Secret.
    vault_token_ = vault_->createToken({"soak-reader"});
    auto stored = kube_->putObject({{"apiVersion", "v1"},
                                    {"kind", "Secret"},
                                    {"metadata", {{"name", "vault-token"}, {"namespace", kNs}}},
                                    {"data", {{"token", base64(vault_token_)}}}});
    if (!stored.ok())
      violation(absl::StrCat("rotating the Vault token: ", stored.status().message()));
  }
  if (Child* child = active.child; child != nullptr) {
    supervise(*child);
    if (child->process != nullptr) {
      // Not gone yet (a SIGTERM'd replica finishing); a slow one gets its threads' stacks
      // written next to its log (for the report), a stuck one is a failure.
      if (now > active.started + seconds(10) && !active.stacks_dumped) {
        active.stacks_dumped = true;
        const std::string command =
            absl::StrCat("gdb -p ", child->process->pid(), " -batch -ex 'thread apply all bt' >",
                         child->log_path, ".stacks 2>&1 </dev/null");
        if (std::system(command.c_str()) != 0) {
          violation(absl::StrCat("could not dump the stacks of ", child->name, " (gdb)"));
        }
      }
      if (now > active.started + active.fault.duration + seconds(30)) {
        violation(absl::StrCat(child->name, " did not exit within 30 s of its signal"));
        child->process->sendSignal(SIGKILL);
        child->expect = Child::Expect::kSigkill;
      }
      return false;
    }
    startChild(*child);
  }
  std::printf("[%7.1fs] fault %s end\n", secondsOf(sinceStart()),
              std::string(faultKindName(active.fault.kind)).c_str());
  std::lock_guard lock(mu_);
  checker_.recordFault(active.started, now);
  return true;
}

// --- Workload -----------------------------------------------------------------------------

void Soak::vaultWrite(const std::string& path) {
  uint64_t generation;
  {
    // Recorded before the write, so no observer can see a value the checker does not know.
    std::lock_guard lock(mu_);
    generation = ++generations_[path];
    checker_.recordVaultWrite(path, generation);
    ++counters_["vault_writes"];
  }
  Json data = Json::object();
  for (const std::string& key : secretKeys()) data[key] = vaultValue(path, generation, key);
  auto written = vault_->putSecret("secret", path, data);
  if (!written.ok())
    violation(absl::StrCat("Vault write of ", path, ": ", written.status().message()));
}

bool Soak::kubeRequest(test::CurlTestClient& client, const std::string& method,
                       const std::string& path, const Json& body, const std::string& content_type) {
  // A user's kubectl against a faulty API server: retried until it goes through.
  while (!stop_workload_) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Authorization", absl::StrCat("Bearer ", kHarnessToken)}, {"Accept", "application/json"}};
    if (!body.is_null()) headers.emplace_back("Content-Type", content_type);
    const test::CurlTestResponse r =
        client.request(method, kube_->baseUrl() + path, headers, body.is_null() ? "" : body.dump());
    if (r.status >= 200 && r.status < 300) return true;
    if (r.status == 400 || r.status == 404 || r.status == 422) {
      violation(absl::StrCat("harness ", method, " ", path, " got ", r.status));
      return false;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  return false;
}

void Soak::esAction(std::mt19937_64& rng) {
  test::CurlTestClient client({.ca_pem = pki_.ca.cert_pem, .timeout_ms = 10'000});
  const std::string base =
      absl::StrCat("/apis/external-secrets.io/v1/namespaces/", kNs, "/externalsecrets");
  std::vector<std::string> live;
  int next;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, path] : live_es_) live.push_back(name);
    next = next_es_;
  }
  const auto pick = [&] {
    return live[std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng)];
  };
  const auto randomPath = [&] {
    return absl::StrCat("app/p",
                        std::uniform_int_distribution<int>(0, options_.vault_paths - 1)(rng));
  };
  const int action = std::uniform_int_distribution<int>(0, 5)(rng);
  const auto target = static_cast<int>(live.size());
  if ((action == 0 && target < options_.external_secrets * 3 / 2) || live.size() < 2) {
    const std::string name = absl::StrCat("es-", next);
    const std::string path = randomPath();
    {
      std::lock_guard lock(mu_);
      ++next_es_;
      checker_.externalSecretCreated(name, absl::StrCat("sec-", next), path);
      live_es_[name] = path;
      ++counters_["es_created"];
    }
    kubeRequest(client, "POST", base,
                externalSecret(name, absl::StrCat("sec-", next),
                               rng() % 2 == 0 ? "vault-k8s" : "vault-token", path,
                               rng() % 2 == 0 ? "1s" : "2s"),
                "application/json");
  } else if (action == 1 && target > options_.external_secrets / 2) {
    const std::string name = pick();
    {
      std::lock_guard lock(mu_);
      checker_.externalSecretDeleted(name);
      live_es_.erase(name);
      ++counters_["es_deleted"];
    }
    kubeRequest(client, "DELETE", absl::StrCat(base, "/", name), Json(), "");
  } else if (action == 2) {
    const std::string name = pick();
    const std::string path = randomPath();
    {
      std::lock_guard lock(mu_);
      checker_.externalSecretRetargeted(name, path);
      live_es_[name] = path;
      ++counters_["es_retargeted"];
    }
    kubeRequest(client, "PATCH", absl::StrCat(base, "/", name),
                Json{{"spec", {{"data", esData(path)}}}}, "application/merge-patch+json");
  } else if (action == 3) {
    {
      std::lock_guard lock(mu_);
      ++counters_["es_refresh_edits"];
    }
    kubeRequest(client, "PATCH", absl::StrCat(base, "/", pick()),
                Json{{"spec", {{"refreshInterval", rng() % 2 == 0 ? "1s" : "2s"}}}},
                "application/merge-patch+json");
  } else if (action == 4) {
    {
      std::lock_guard lock(mu_);
      ++counters_["es_force_syncs"];
    }
    kubeRequest(client, "PATCH", absl::StrCat(base, "/", pick()),
                Json{{"metadata", {{"annotations", {{"force-sync", std::to_string(rng())}}}}}},
                "application/merge-patch+json");
  } else {
    {
      std::lock_guard lock(mu_);
      ++counters_["store_edits"];
    }
    const std::string store = rng() % 2 == 0 ? "vault-k8s" : "vault-token";
    kubeRequest(
        client, "PATCH",
        absl::StrCat("/apis/external-secrets.io/v1/namespaces/", kNs, "/secretstores/", store),
        Json{{"spec", {{"refreshInterval", 240 + static_cast<int>(rng() % 120)}}}},
        "application/merge-patch+json");
  }
}

void Soak::workloadLoop() {
  std::mt19937_64 rng(options_.seed ^ 0x5eedULL);
  auto next_vault = Clock::now();
  auto next_es = Clock::now() + seconds(2);
  while (!stop_workload_) {
    const auto now = Clock::now();
    if (now >= next_vault) {
      const int n = std::uniform_int_distribution<int>(0, options_.vault_paths + 1)(rng);
      vaultWrite(n < options_.vault_paths ? absl::StrCat("app/p", n)
                                          : absl::StrCat("csi/c", n - options_.vault_paths));
      next_vault = now + milliseconds(std::uniform_int_distribution<int>(500, 1500)(rng));
    }
    if (now >= next_es) {
      esAction(rng);
      next_es = Clock::now() + milliseconds(std::uniform_int_distribution<int>(1000, 4000)(rng));
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// Checks one Mount reply: every file holds a value Vault held for its path and key (with
// `current_only`, the current one).
bool Soak::checkCsiMount(const v1alpha1::MountResponse& response, bool current_only) {
  std::lock_guard lock(mu_);
  bool ok = response.files_size() == static_cast<int>(csiFiles().size());
  if (!ok) {
    checker_.addViolation(absl::StrCat("CSI mount returned ", response.files_size(),
                                       " files, want ", csiFiles().size()));
  }
  for (const auto& file : response.files()) {
    auto spec = csiFiles().find(file.path());
    if (spec == csiFiles().end()) {
      checker_.addViolation(absl::StrCat("CSI mount returned an unexpected file ", file.path()));
      ok = false;
      continue;
    }
    const auto& [path, key] = spec->second;
    checker_.observeValue(absl::StrCat("CSI file ", file.path()), path, key, file.contents());
    if (current_only && file.contents() != vaultValue(path, generations_[path], key)) ok = false;
  }
  return ok;
}

csi::testing::TestPod Soak::csiPod(int index) {
  csi::testing::TestPod pod;
  pod.name = absl::StrCat("csi-pod-", index);
  pod.namespace_name = kNs;
  pod.uid = absl::StrCat("uid-csi-", index);
  pod.service_account = "csi-app";
  std::lock_guard lock(mu_);
  auto& [token, minted] = csi_tokens_[index];
  if (token.empty() || Clock::now() - minted > std::chrono::minutes(30)) {
    // One-hour tokens, as the kubelet requests them, renewed at half-life.
    auto fresh = kube_->requestServiceAccountToken(kNs, "csi-app", {"vault"}, 3600);
    if (fresh.ok()) {
      token = *fresh;
      minted = Clock::now();
    } else {
      checker_.addViolation(
          absl::StrCat("TokenRequest for ", pod.name, ": ", fresh.status().message()));
    }
  }
  pod.tokens["vault"] = token;
  return pod;
}

void Soak::csiMountLoop(int thread_index) {
  csi::testing::ProviderClient client(socket_);
  std::mt19937_64 rng(options_.seed + 17 + static_cast<uint64_t>(thread_index));
  const sync::AtomicDirWriter writer;
  while (!stop_csi_) {
    const csi::testing::TestPod test_pod =
        csiPod(std::uniform_int_distribution<int>(0, kCsiPods - 1)(rng));
    const csi::testing::MountResult result = client.mount(
        csi::testing::driverRequest({{"roleName", "csi"}, {"objects", kCsiObjects}}, test_pod));
    if (!result.status.ok()) {
      std::lock_guard lock(mu_);
      ++counters_["csi_mounts_failed"];
    } else if (checkCsiMount(result.response, false)) {
      // As the driver does: the files go to the pod's target directory, atomically.
      const std::string dir = absl::StrCat(options_.workdir, "/mounts/", test_pod.name);
      sync::FileMap files;
      std::map<std::string, std::string> plain;
      for (const auto& f : result.response.files()) {
        files[f.path()] = {.bytes = common::SecretString(f.contents()), .mode = 0600};
        plain[f.path()] = f.contents();
      }
      {
        std::lock_guard lock(mu_);
        ledger_.recordWrite(dir, plain);  // before the write: a reader may see it at once
        ++counters_["csi_mounts_ok"];
      }
      auto written = writer.write(dir, files);
      if (!written.ok()) violation(absl::StrCat("writing ", dir, ": ", written.status().message()));
    }
    std::this_thread::sleep_for(milliseconds(150));
  }
}

// A consumer of the mounted files, as an application re-reading them: resolves `..data` once and
// reads every file of that version. What it reads must be exactly one write.
void Soak::csiReadLoop() {
  while (!stop_csi_) {
    for (int pod = 0; pod < kCsiPods; ++pod) {
      const std::string dir = absl::StrCat(options_.workdir, "/mounts/csi-pod-", pod);
      std::error_code ec;
      const std::filesystem::path version = std::filesystem::read_symlink(dir + "/..data", ec);
      if (ec) continue;  // not written yet
      std::map<std::string, std::string> seen;
      bool complete = true;
      for (const auto& [name, spec] : csiFiles()) {
        std::optional<std::string> content =
            common::readFile((std::filesystem::path(dir) / version / name).string());
        if (!content.has_value()) {
          complete = false;  // the version was replaced and removed meanwhile: read again
          break;
        }
        seen[name] = *content;
      }
      std::lock_guard lock(mu_);
      if (!complete) {
        ++counters_["csi_reads_retried"];
      } else if (ledger_.isWhole(dir, seen)) {
        ++counters_["csi_reads_whole"];
      } else {
        checker_.addViolation(absl::StrCat("torn mount: ", dir, " holds files of no single write"));
      }
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// --- The run --------------------------------------------------------------------------------

void Soak::tick(Clock::time_point now) {
  while (next_fault_ < schedule_.size() && now - t0_ >= schedule_[next_fault_].start) {
    startFault(schedule_[next_fault_++]);
  }
  for (auto it = active_.begin(); it != active_.end();) {
    if (endFault(**it, now)) {
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
  for (Child* child : {&controllers_[0], &controllers_[1], &csi_}) {
    bool killed_on_purpose = false;
    for (const auto& active : active_) killed_on_purpose |= active->child == child;
    if (!killed_on_purpose) supervise(*child);
  }
  if (!last_fault_end_.has_value() && next_fault_ == schedule_.size() && active_.empty()) {
    last_fault_end_ = now;
    std::lock_guard lock(mu_);
    checker_.snapshotForCatchUp();
  }
  if (last_fault_end_.has_value() && !catch_up_time_.has_value()) {
    std::lock_guard lock(mu_);
    if (checker_.caughtUp()) catch_up_time_ = now - *last_fault_end_;
  }
}

Json Soak::run() {
  ScheduleOptions schedule_options;
  schedule_options.seed = options_.seed;
  schedule_options.first_start = seconds(3);
  schedule_options.last_start =
      options_.duration - std::max<milliseconds>(seconds(25), options_.duration * 15 / 100);
  // Long runs kill processes less often, so that lifetimes are long enough for the leak check.
  schedule_options.process_fault_spacing =
      std::max<milliseconds>(seconds(4), options_.duration / 25);
  schedule_ = makeSchedule(schedule_options);
  t0_ = Clock::now();
  std::printf("soak: seed %llu, %zu faults scheduled over %.0f s, run %.0f s\n",
              static_cast<unsigned long long>(options_.seed), schedule_.size(),
              std::chrono::duration<double>(schedule_options.last_start).count(),
              std::chrono::duration<double>(options_.duration).count());
  std::fflush(stdout);
  threads_.emplace_back([this] { workloadLoop(); });
  threads_.emplace_back([this] { csiMountLoop(0); });
  threads_.emplace_back([this] { csiMountLoop(1); });
  threads_.emplace_back([this] { csiReadLoop(); });

  auto next_sample = t0_;
  auto next_log_scan = t0_;
  while (Clock::now() - t0_ < options_.duration || !active_.empty()) {
    const auto now = Clock::now();
    tick(now);
    if (now >= next_sample) {
      sampleProcesses(now);
      next_sample = now + seconds(1);
    }
    if (now >= next_log_scan) {
      scanWriteLog();
      next_log_scan = now + seconds(1);
    }
    observe(now);  // also paces the loop (250 ms)
    std::fflush(stdout);
  }
  tick(Clock::now());

  // Quiesce: no more changes; everything must settle on Vault's current values.
  stop_workload_ = true;
  threads_[0].join();
  const auto quiet = Clock::now();
  while (Clock::now() - quiet < options_.convergence_bound) {
    tick(Clock::now());
    observe(Clock::now());
    std::lock_guard lock(mu_);
    if (checker_.allConverged() && checker_.allReady()) {
      final_convergence_ = Clock::now() - quiet;
      break;
    }
  }
  stop_csi_ = true;
  for (size_t i = 1; i < threads_.size(); ++i) threads_[i].join();
  threads_.clear();
  scanWriteLog();

  Json summary;
  finish(&summary);
  return summary;
}

void Soak::finish(Json* summary) {
  // A last mount must return Vault's current values.
  bool csi_current = false;
  {
    csi::testing::ProviderClient client(socket_);
    const csi::testing::TestPod pod = csiPod(kCsiPods);
    for (int i = 0; i < 50 && !csi_current; ++i) {
      const csi::testing::MountResult result = client.mount(
          csi::testing::driverRequest({{"roleName", "csi"}, {"objects", kCsiObjects}}, pod));
      csi_current = result.status.ok() && checkCsiMount(result.response, true);
      if (!csi_current) std::this_thread::sleep_for(milliseconds(200));
    }
  }
  if (!csi_current) violation("the final CSI mount did not return Vault's current values");

  // Every child must still be running, then stop cleanly on SIGTERM.
  Json processes = Json::array();
  const GrowthBounds bounds;
  for (Child* child : {&controllers_[0], &controllers_[1], &csi_}) {
    supervise(*child);
    if (child->process == nullptr) {
      violation(absl::StrCat(child->name, " is not running at the end"));
    } else {
      const int code = child->process->stop(SIGTERM, seconds(30));
      if (code != 0) violation(absl::StrCat(child->name, " exited with ", code, " on SIGTERM"));
    }
    uint64_t peak_rss = 0;
    uint64_t peak_fds = 0;
    Json lifetimes = Json::array();
    for (const ProcessStats& stats : child->stats) {
      peak_rss = std::max(peak_rss, stats.peakRssKb());
      peak_fds = std::max(peak_fds, stats.peakFds());
      const absl::Status flat = stats.checkFlat(bounds);
      if (!flat.ok()) violation(std::string(flat.message()));
      Json lifetime = {{"name", stats.name()},
                       {"samples", stats.samples().size()},
                       {"peak_rss_kb", stats.peakRssKb()},
                       {"peak_fds", stats.peakFds()},
                       {"leak_check", !stats.judged(bounds) ? "too short to judge"
                                      : flat.ok()           ? "flat"
                                                            : "GREW"}};
      if (!stats.samples().empty()) {
        lifetime["first_rss_kb"] = stats.samples().front().rss_kb;
        lifetime["last_rss_kb"] = stats.samples().back().rss_kb;
        lifetime["first_fds"] = stats.samples().front().fds;
        lifetime["last_fds"] = stats.samples().back().fds;
      }
      lifetimes.push_back(lifetime);
    }
    for (const std::string& log_path : child->logs) {
      const std::string log = common::readFile(log_path).value_or("");
      for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                 "runtime error:", "WARNING: ThreadSanitizer"}) {
        if (absl::StrContains(log, marker)) {
          violation(absl::StrCat("sanitizer report (", marker, ") in ", log_path));
        }
      }
    }
    processes.push_back({{"name", child->name},
                         {"starts", child->lifetime},
                         {"peak_rss_kb", peak_rss},
                         {"peak_fds", peak_fds},
                         {"lifetimes", lifetimes}});
  }

  std::lock_guard lock(mu_);
  if (!last_fault_end_.has_value()) {
    checker_.addViolation("the fault schedule did not finish");
  } else if (!catch_up_time_.has_value() ||
             *catch_up_time_ > Clock::duration(options_.convergence_bound)) {
    std::vector<std::string> lagging;
    checker_.caughtUp(&lagging);
    checker_.addViolation(
        absl::StrCat("Secrets did not catch up within ", secondsOf(options_.convergence_bound),
                     " s of the last fault; lagging: ", absl::StrJoin(lagging, ", ")));
  }
  if (!final_convergence_.has_value()) {
    std::vector<std::string> lagging;
    std::vector<std::string> not_ready;
    checker_.allConverged(&lagging);
    checker_.allReady(&not_ready);
    checker_.addViolation(absl::StrCat("no final convergence within ",
                                       secondsOf(options_.convergence_bound),
                                       " s; not converged: ", absl::StrJoin(lagging, ", "),
                                       "; not Ready: ", absl::StrJoin(not_ready, ", ")));
  }
  Json faults = Json::object();
  uint64_t total_faults = 0;
  for (int i = 0; i < kFaultKindCount; ++i) {
    const auto kind = static_cast<FaultKind>(i);
    faults[std::string(faultKindName(kind))] = injected_[kind];
    total_faults += injected_[kind];
  }
  Json counters = Json::object();
  for (const auto& [name, value] : counters_) counters[name] = value;
  const auto optionalSeconds = [](const std::optional<Clock::duration>& d) {
    return d.has_value() ? Json(std::round(secondsOf(*d) * 100) / 100) : Json(nullptr);
  };
  *summary = {
      {"seed", options_.seed},
      {"duration_seconds", secondsOf(options_.duration)},
      {"faults_total", total_faults},
      {"faults", faults},
      {"api_server_restarts", kube_->restarts()},
      {"counters", counters},
      {"secret_observations", checker_.secretObservations()},
      {"secret_observations_mixing_vault_writes", checker_.mixedObservations()},
      {"violation_count", checker_.violationCount()},
      {"ready_false_during_faults", checker_.readyFalseCaused()},
      {"ready_false_without_fault", checker_.readyFalseUncaused()},
      {"catch_up_after_last_fault_seconds", optionalSeconds(catch_up_time_)},
      {"final_convergence_seconds", optionalSeconds(final_convergence_)},
      {"live_external_secrets", checker_.liveExternalSecrets().size()},
      {"processes", processes},
      {"violations", checker_.violations()},
      {"verdict", checker_.violations().empty() ? "pass" : "fail"},
      {"workdir", options_.workdir},
  };
}

void Soak::shutdownThreads() {
  stop_workload_ = true;
  stop_csi_ = true;
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  for (auto& active : active_) {
    if (active->restart.joinable()) active->restart.join();
  }
}

}  // namespace

absl::StatusOr<Json> runSoak(const SoakOptions& options) {
  Soak soak(options);
  RETURN_IF_ERROR(soak.setUp());
  return soak.run();
}

}  // namespace secretsync::soak
