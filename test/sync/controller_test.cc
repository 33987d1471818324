// The controller engine in-process against the Kubernetes API double (HTTPS, through the real
// RestKubeClient) and the Vault double: what an ESO user switching to secretsync relies on.
#include "pkg/sync/controller.h"

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/kube/rest_kube_client.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "test/kube/kube_test_env.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::sync {
namespace {

using Json = nlohmann::json;
using kube::kubetest::kTestNamespace;

// Polls `condition` every 20 ms for up to 15 s.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

struct RecordedEvent {
  std::string name;
  std::string type;
  std::string reason;
  std::string message;
};

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kube_ = kube::kubetest::startHttpsKubeDouble(std::chrono::milliseconds(200));
    ASSERT_NE(kube_, nullptr);
    auto vault = test::VaultDouble::start();
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(
        vault_->putSecret("secret", "app/db", {{"username", "app"}, {"password", "s3cr3t-v1"}})
            .ok());
    auto client = kube::RestKubeClient::create(kube::kubetest::configFor(*kube_), nullptr);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    put(Json{{"apiVersion", "v1"},
             {"kind", "Secret"},
             {"metadata", {{"name", "vault-token"}, {"namespace", kTestNamespace}}},
             {"data", {{"token", absl::Base64Escape(vault_->rootToken())}}}});
    put(store("vault", ""));
  }

  void TearDown() override {
    if (controller_) controller_->stop();
  }

  void startController(std::string controller_class = "") {
    ControllerOptions options;
    options.concurrent = 4;
    options.context.controller_class = std::move(controller_class);
    options.resolver.own_service_account_token_file = "/nonexistent";
    options.resolver.transport.max_retries = 0;
    options.context.metrics = &metrics_;
    options.context.record_event = [this](const Json& object, std::string_view type,
                                          std::string_view reason, std::string_view message) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back({object["metadata"].value("name", ""), std::string(type),
                         std::string(reason), std::string(message)});
    };
    auto controller = Controller::create(*client_, common::realClock(), options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
    controller_->start();
    controller_->startWorkers();
    ASSERT_TRUE(eventually([this] { return controller_->ready().ok(); }));
  }

  Json store(const std::string& name, const std::string& controller_class) {
    Json spec = {
        {"provider",
         {{"vault",
           {{"server", vault_->baseUrl()},
            {"path", "secret"},
            {"version", "v2"},
            {"auth", {{"tokenSecretRef", {{"name", "vault-token"}, {"key", "token"}}}}}}}}}};
    if (!controller_class.empty()) spec["controller"] = controller_class;
    return Json{{"apiVersion", "external-secrets.io/v1"},
                {"kind", "SecretStore"},
                {"metadata", {{"name", name}, {"namespace", kTestNamespace}}},
                {"spec", spec}};
  }

  static Json externalSecret(const std::string& name, const std::string& target,
                             const std::string& policy = "Owner") {
    return Json{{"apiVersion", "external-secrets.io/v1"},
                {"kind", "ExternalSecret"},
                {"metadata", {{"name", name}, {"namespace", kTestNamespace}}},
                {"spec",
                 {{"refreshInterval", "1h"},
                  {"secretStoreRef", {{"name", "vault"}, {"kind", "SecretStore"}}},
                  {"target", {{"name", target}, {"creationPolicy", policy}}},
                  {"data",
                   {{{"secretKey", "password"},
                     {"remoteRef", {{"key", "app/db"}, {"property", "password"}}}},
                    {{"secretKey", "user"},
                     {"remoteRef", {{"key", "app/db"}, {"property", "username"}}}}}}}}};
  }

  void put(const Json& object) {
    auto stored = kube_->putObject(object);
    ASSERT_TRUE(stored.ok()) << stored.status();
  }

  std::optional<Json> secret(const std::string& name) {
    return kube_->getObject("v1", "Secret", kTestNamespace, name);
  }
  std::string secretValue(const std::string& name, const std::string& key) {
    const auto s = secret(name);
    if (!s || !s->contains("data") || !(*s)["data"].contains(key)) return "";
    std::string decoded;
    absl::Base64Unescape((*s)["data"][key].get<std::string>(), &decoded);
    return decoded;
  }
  Json externalSecretStatus(const std::string& name) {
    const auto es =
        kube_->getObject("external-secrets.io/v1", "ExternalSecret", kTestNamespace, name);
    return es && es->contains("status") ? (*es)["status"] : Json::object();
  }
  std::string readyOf(const Json& status) {
    if (!status.contains("conditions")) return "";
    for (const Json& c : status["conditions"]) {
      if (c.value("type", "") == "Ready")
        return c.value("status", "") + "/" + c.value("reason", "");
    }
    return "";
  }
  size_t writesTo(const std::string& resource) {
    size_t n = 0;
    for (const auto& w : kube_->writeLog()) n += w.resource == resource && w.changed ? 1 : 0;
    return n;
  }
  // Touches an annotation, as `kubectl annotate es NAME force-sync=...` does.
  void forceSync(const std::string& name, const std::string& value) {
    auto es = kube_->getObject("external-secrets.io/v1", "ExternalSecret", kTestNamespace, name);
    ASSERT_TRUE(es.has_value());
    (*es)["metadata"]["annotations"]["force-sync"] = value;
    put(*es);
  }

  std::unique_ptr<test::KubeDouble> kube_;
  std::unique_ptr<test::VaultDouble> vault_;
  std::unique_ptr<kube::KubeClient> client_;
  metrics::Metrics metrics_{std::make_shared<prometheus::Registry>(), {"test", "test"}};
  std::unique_ptr<Controller> controller_;
  std::mutex mu_;
  std::vector<RecordedEvent> events_;
};

TEST_F(ControllerTest, SyncsTheSecretAsEsoDoesThenWritesNothingWhenNothingChanged) {
  Json es = externalSecret("db", "db-creds");
  es["spec"]["refreshInterval"] = "500ms";  // several refreshes within the test
  put(es);
  startController();
  ASSERT_TRUE(eventually([&] {
    return readyOf(externalSecretStatus("db")) == "True/SecretSynced";
  })) << externalSecretStatus("db").dump();

  const Json s = *secret("db-creds");
  EXPECT_EQ(secretValue("db-creds", "password"), "s3cr3t-v1");
  EXPECT_EQ(secretValue("db-creds", "user"), "app");
  EXPECT_EQ(s.value("type", ""), "Opaque");
  EXPECT_EQ(s["metadata"]["labels"].value("reconcile.external-secrets.io/managed", ""), "true");
  EXPECT_FALSE(
      s["metadata"]["annotations"].value("reconcile.external-secrets.io/data-hash", "").empty());
  ASSERT_EQ(s["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(s["metadata"]["ownerReferences"][0].value("kind", ""), "ExternalSecret");
  EXPECT_EQ(s["metadata"]["ownerReferences"][0].value("controller", false), true);
  const Json status = externalSecretStatus("db");
  EXPECT_FALSE(status.value("refreshTime", "").empty());
  EXPECT_FALSE(status.value("syncedResourceVersion", "").empty());
  EXPECT_EQ(status["binding"].value("name", ""), "db-creds");
  // The store's own status.
  ASSERT_TRUE(eventually([&] {
    auto st = kube_->getObject("external-secrets.io/v1", "SecretStore", kTestNamespace, "vault");
    return st && st->contains("status") && readyOf((*st)["status"]) == "True/Valid";
  }));

  // Refreshes that find nothing new in Vault write nothing: no Secret, no status.
  const size_t secret_writes = writesTo("secrets");
  const size_t status_writes = writesTo("externalsecrets/status");
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  EXPECT_EQ(writesTo("secrets"), secret_writes);
  EXPECT_EQ(writesTo("externalsecrets/status"), status_writes);
  EXPECT_EQ(externalSecretStatus("db").value("refreshTime", ""), status.value("refreshTime", ""));

  // ESO's series and controller-runtime's, as dashboards expect them.
  const std::string scrape = prometheus::TextSerializer().Serialize(metrics_.Collect());
  for (const char* line :
       {"externalsecret_sync_calls_total{name=\"db\",namespace=\"app\"}",
        "externalsecret_status_condition{name=\"db\",namespace=\"app\",condition=\"Ready\","
        "status=\"True\"} 1",
        "secretstore_status_condition{name=\"vault\",namespace=\"app\",condition=\"Ready\","
        "status=\"True\"} 1",
        "workqueue_adds_total{controller=\"externalsecret\",name=\"externalsecret\"}",
        "controller_runtime_reconcile_total{controller=\"externalsecret\",result=\"requeue_"
        "after\"}",
        "secretsync_last_success_timestamp_seconds{kind=\"externalsecret\",name=\"db\","
        "namespace=\"app\"}"}) {
    EXPECT_NE(scrape.find(line), std::string::npos) << line << "\n" << scrape;
  }
  EXPECT_EQ(scrape.find("s3cr3t"), std::string::npos);
}

TEST_F(ControllerTest, AVaultChangeReachesTheSecretOnTheNextRefresh) {
  put(externalSecret("db", "db-creds"));
  startController();
  ASSERT_TRUE(eventually([&] { return secretValue("db-creds", "password") == "s3cr3t-v1"; }));
  ASSERT_TRUE(
      vault_->putSecret("secret", "app/db", {{"username", "app"}, {"password", "v2"}}).ok());
  // Past the Fetcher's cache window, then a forced refresh.
  std::this_thread::sleep_for(std::chrono::milliseconds(5100));
  forceSync("db", "2");
  ASSERT_TRUE(eventually([&] { return secretValue("db-creds", "password") == "v2"; }));
}

TEST_F(ControllerTest, AStoreFailureKeepsTheSecretAndReportsReadyFalse) {
  put(externalSecret("db", "db-creds"));
  startController();
  ASSERT_TRUE(eventually([&] { return secretValue("db-creds", "password") == "s3cr3t-v1"; }));
  const std::string before = secret("db-creds")->dump();

  vault_->addFault(test::vault::FaultRule::error(500, "storage backend down"));
  std::this_thread::sleep_for(std::chrono::milliseconds(5100));
  forceSync("db", "down");
  ASSERT_TRUE(eventually([&] {
    return readyOf(externalSecretStatus("db")) == "False/SecretSyncedError";
  })) << externalSecretStatus("db").dump();
  EXPECT_EQ(secret("db-creds")->dump(), before);  // invariant 1: not emptied, not rewritten
  // ESO's error counter counts the failed refresh of a once-synced ExternalSecret. The reconcile
  // is counted when it returns, just after its status write, so the count may trail the status.
  const std::string series = "externalsecret_sync_calls_error{name=\"db\",namespace=\"app\"} ";
  std::string scrape;
  EXPECT_TRUE(eventually([&] {
    scrape = prometheus::TextSerializer().Serialize(metrics_.Collect());
    const size_t at = scrape.find(series);
    return at != std::string::npos && std::stod(scrape.substr(at + series.size())) >= 1.0;
  })) << scrape;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_FALSE(events_.empty());
    EXPECT_EQ(events_.back().type, "Warning");
    EXPECT_EQ(events_.back().name, "db");
    EXPECT_EQ(events_.back().message.find("s3cr3t"), std::string::npos);
  }
  // Vault back: the backoff retry heals it without anyone touching the ExternalSecret.
  vault_->clearFaults();
  ASSERT_TRUE(
      eventually([&] { return readyOf(externalSecretStatus("db")) == "True/SecretSynced"; }));
}

TEST_F(ControllerTest, ManyExternalSecretsOnOnePathCostOneVaultRead) {
  for (int i = 0; i < 20; ++i) {
    put(externalSecret("es-" + std::to_string(i), "target-" + std::to_string(i)));
  }
  vault_->resetCounters();
  startController();
  ASSERT_TRUE(eventually([&] {
    for (int i = 0; i < 20; ++i) {
      if (secretValue("target-" + std::to_string(i), "password") != "s3cr3t-v1") return false;
    }
    return true;
  }));
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 1u);
}

TEST_F(ControllerTest, AnUnsupportedFieldIsNamedAndNothingIsWritten) {
  Json es = externalSecret("bad", "bad-target");
  es["spec"]["target"]["template"]["templateFrom"] = Json::array({{{"literal", "x"}}});
  put(es);
  startController();
  ASSERT_TRUE(eventually([&] { return !readyOf(externalSecretStatus("bad")).empty(); }));
  const Json status = externalSecretStatus("bad");
  EXPECT_EQ(readyOf(status), "False/SecretSyncedError");
  EXPECT_NE(status["conditions"][0].value("message", "").find("spec.target.template.templateFrom"),
            std::string::npos)
      << status.dump();
  EXPECT_FALSE(secret("bad-target").has_value());
}

TEST_F(ControllerTest, StoresOfAnotherControllerClassAreLeftAlone) {
  put(store("other", "someone-else"));
  Json es = externalSecret("theirs", "their-target");
  es["spec"]["secretStoreRef"]["name"] = "other";
  put(es);
  put(externalSecret("ours", "our-target"));
  startController();
  ASSERT_TRUE(eventually([&] { return secret("our-target").has_value(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(secret("their-target").has_value());
  EXPECT_TRUE(externalSecretStatus("theirs").empty());
}

TEST_F(ControllerTest, ADeletedOrEditedSecretIsRestored) {
  put(externalSecret("db", "db-creds"));
  startController();
  ASSERT_TRUE(eventually([&] { return secretValue("db-creds", "password") == "s3cr3t-v1"; }));

  Json edited = *secret("db-creds");
  edited["data"]["password"] = absl::Base64Escape("tampered");
  put(edited);
  ASSERT_TRUE(eventually([&] { return secretValue("db-creds", "password") == "s3cr3t-v1"; }));

  ASSERT_TRUE(kube_->deleteObject("v1", "Secret", kTestNamespace, "db-creds").ok());
  ASSERT_TRUE(eventually([&] { return secretValue("db-creds", "password") == "s3cr3t-v1"; }));
}

TEST_F(ControllerTest, CreationPoliciesMergeOrphanAndForeignOwners) {
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "shared"}, {"namespace", kTestNamespace}}},
           {"data", {{"other", absl::Base64Escape("kept")}}}});
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata",
            {{"name", "foreign"},
             {"namespace", kTestNamespace},
             {"ownerReferences",
              {{{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"name", "cm"},
                {"uid", "u-1"},
                {"controller", true}}}}}},
           {"data", {{"x", absl::Base64Escape("y")}}}});
  put(externalSecret("merge", "shared", "Merge"));
  put(externalSecret("orphan", "orphaned", "Orphan"));
  put(externalSecret("grab", "foreign", "Owner"));
  startController();

  ASSERT_TRUE(eventually([&] { return secretValue("shared", "password") == "s3cr3t-v1"; }));
  EXPECT_EQ(secretValue("shared", "other"), "kept");
  ASSERT_TRUE(eventually([&] { return secretValue("orphaned", "password") == "s3cr3t-v1"; }));
  EXPECT_FALSE(secret("orphaned")->at("metadata").contains("ownerReferences"));
  ASSERT_TRUE(eventually(
      [&] { return readyOf(externalSecretStatus("grab")) == "False/SecretSyncedError"; }));
  EXPECT_NE(externalSecretStatus("grab")["conditions"][0]
                .value("message", "")
                .find("controlled by ConfigMap"),
            std::string::npos);
  EXPECT_EQ(secretValue("foreign", "x"), "y");
}

TEST_F(ControllerTest, NoDataInTheStoreFollowsDeletionPolicy) {
  put(externalSecret("db", "db-creds"));
  startController();
  ASSERT_TRUE(eventually([&] { return secretValue("db-creds", "password") == "s3cr3t-v1"; }));

  // The same ExternalSecret now finds nothing: Retain keeps the Secret and reports it...
  auto es = kube_->getObject("external-secrets.io/v1", "ExternalSecret", kTestNamespace, "db");
  ASSERT_TRUE(es.has_value());
  (*es)["spec"].erase("data");
  (*es)["spec"]["dataFrom"] =
      Json::array({{{"find", {{"path", "app"}, {"name", {{"regexp", "^nothing-here$"}}}}}}});
  put(*es);
  ASSERT_TRUE(
      eventually([&] { return readyOf(externalSecretStatus("db")) == "False/SecretSyncedError"; }));
  EXPECT_EQ(secretValue("db-creds", "password"), "s3cr3t-v1");

  // ...and Delete removes it.
  es = kube_->getObject("external-secrets.io/v1", "ExternalSecret", kTestNamespace, "db");
  (*es)["spec"]["target"]["deletionPolicy"] = "Delete";
  put(*es);
  ASSERT_TRUE(eventually([&] {
    return readyOf(externalSecretStatus("db")) == "False/SecretDeleted";
  })) << externalSecretStatus("db").dump();
  EXPECT_FALSE(secret("db-creds").has_value());
}

TEST_F(ControllerTest, DeletionPolicyDeleteNeverRemovesASecretItDoesNotOwn) {
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "someone-elses"}, {"namespace", kTestNamespace}}},
           {"data", {{"k", absl::Base64Escape("v")}}}});
  Json es = externalSecret("hostile", "someone-elses", "Orphan");
  es["spec"].erase("data");
  es["spec"]["dataFrom"] =
      Json::array({{{"find", {{"path", "app"}, {"name", {{"regexp", "^nothing-here$"}}}}}}});
  es["spec"]["target"]["deletionPolicy"] = "Delete";
  put(es);
  startController();
  ASSERT_TRUE(eventually([&] {
    return readyOf(externalSecretStatus("hostile")) == "False/SecretSyncedError";
  })) << externalSecretStatus("hostile").dump();
  EXPECT_EQ(secretValue("someone-elses", "k"), "v");
}

}  // namespace
}  // namespace secretsync::sync
