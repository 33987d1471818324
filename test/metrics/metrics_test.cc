#include "pkg/metrics/metrics.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "test/support/manual_clock.h"

namespace secretsync::metrics {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

std::string scrape(const Metrics& metrics) {
  return prometheus::TextSerializer().Serialize(metrics.Collect());
}

// @return the value of the sample `series` (name and labels as serialised), NaN if absent.
double sample(const std::string& text, const std::string& series) {
  const size_t at = text.find(series + " ");
  if (at == std::string::npos) {
    return std::nan("");
  }
  return std::stod(text.substr(at + series.size() + 1));
}

class MetricsTest : public ::testing::Test {
 protected:
  Metrics metrics_{std::make_shared<prometheus::Registry>(), {"1.2.3", "abcdef"}};
};

// Validate that Vault attempts land under operation and status class, with latency.
TEST_F(MetricsTest, VaultRequestsByOperationAndStatusClass) {
  metrics_.observeVaultRequest("GET", "secret/*", 200, std::chrono::milliseconds(3));
  metrics_.observeVaultRequest("GET", "secret/*", 503, std::chrono::milliseconds(2));
  metrics_.observeVaultRequest("POST", "auth/*", 0, std::chrono::milliseconds(1));
  const std::string text = scrape(metrics_);
  EXPECT_THAT(text, HasSubstr("secretsync_vault_requests_total{operation=\"GET secret/*\","
                              "status_class=\"2xx\"} 1"));
  EXPECT_THAT(text, HasSubstr("secretsync_vault_requests_total{operation=\"GET secret/*\","
                              "status_class=\"5xx\"} 1"));
  EXPECT_THAT(text, HasSubstr("secretsync_vault_requests_total{operation=\"POST auth/*\","
                              "status_class=\"error\"} 1"));
  EXPECT_THAT(text, HasSubstr("secretsync_vault_request_duration_seconds_count{operation=\"GET "
                              "secret/*\"} 2"));
}

// Validate that every mount is timed and only failures are counted by code.
TEST_F(MetricsTest, CsiMountsTimedAndErrorsByCode) {
  metrics_.observeCsiMount("", std::chrono::milliseconds(4));
  metrics_.observeCsiMount("PermissionDenied", std::chrono::milliseconds(2));
  const std::string text = scrape(metrics_);
  EXPECT_THAT(text, HasSubstr("secretsync_csi_mount_duration_seconds_count 2"));
  EXPECT_THAT(text, HasSubstr("secretsync_csi_mount_errors_total{code=\"PermissionDenied\"} 1"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("code=\"\"")));
}

// Validate that counters kept elsewhere are read at scrape time, and build info is exported.
TEST_F(MetricsTest, CounterSourcesAndBuildInfo) {
  double saved = 7;
  metrics_.addCounterSource("secretsync_test_saved_total", "Test.", [&saved] { return saved; });
  EXPECT_THAT(scrape(metrics_), HasSubstr("secretsync_test_saved_total 7"));
  saved = 9;
  EXPECT_THAT(scrape(metrics_), HasSubstr("secretsync_test_saved_total 9"));
  EXPECT_THAT(scrape(metrics_),
              HasSubstr("secretsync_build_info{commit=\"abcdef\",version=\"1.2.3\"} 1"));
}

// A Metrics on a manual clock, per-object labels on or off.
class ObjectMetricsTest : public ::testing::Test {
 protected:
  Metrics make(bool per_object) {
    return Metrics(std::make_shared<prometheus::Registry>(), {"1", "c"},
                   {.per_object_labels = per_object, .clock = &clock_});
  }
  test::ManualClock clock_;
};

// Validate ESO's ExternalSecret series: names, labels, counters, the nanosecond gauge.
TEST_F(ObjectMetricsTest, EsoSyncSeriesWithEsoLabels) {
  Metrics metrics = make(true);
  metrics.recordSync("prod", "db", true, std::chrono::milliseconds(3));
  metrics.recordSync("prod", "db", false, std::chrono::milliseconds(5));
  metrics.recordSync("dev", "api", true, std::chrono::microseconds(7));
  const std::string text = scrape(metrics);
  EXPECT_THAT(text, HasSubstr("# TYPE externalsecret_sync_calls_total counter"));
  EXPECT_THAT(text, HasSubstr("externalsecret_sync_calls_total{name=\"db\",namespace=\"prod\"} 2"));
  EXPECT_THAT(text, HasSubstr("externalsecret_sync_calls_error{name=\"db\",namespace=\"prod\"} 1"));
  EXPECT_THAT(text, HasSubstr("externalsecret_sync_calls_error{name=\"api\",namespace=\"dev\"} 0"));
  EXPECT_THAT(text, HasSubstr("# TYPE externalsecret_reconcile_duration gauge"));
  EXPECT_THAT(
      text, HasSubstr("externalsecret_reconcile_duration{name=\"db\",namespace=\"prod\"} 5000000"));
  EXPECT_THAT(text,
              HasSubstr("externalsecret_reconcile_duration{name=\"api\",namespace=\"dev\"} 7000"));
}

// Validate ESO's condition gauge: 1 for the condition, 0 for Ready's opposite, Ready and Deleted
// exclusive.
TEST_F(ObjectMetricsTest, StatusConditionAsEso) {
  Metrics metrics = make(true);
  metrics.setCondition("prod", "db", Condition::kReady, ConditionStatus::kTrue);
  std::string text = scrape(metrics);
  EXPECT_THAT(text, HasSubstr("externalsecret_status_condition{name=\"db\",namespace=\"prod\","
                              "condition=\"Ready\",status=\"True\"} 1"));
  EXPECT_THAT(text, HasSubstr("externalsecret_status_condition{name=\"db\",namespace=\"prod\","
                              "condition=\"Ready\",status=\"False\"} 0"));
  metrics.setCondition("prod", "db", Condition::kReady, ConditionStatus::kFalse);
  text = scrape(metrics);
  EXPECT_THAT(text, HasSubstr("condition=\"Ready\",status=\"True\"} 0"));
  EXPECT_THAT(text, HasSubstr("condition=\"Ready\",status=\"False\"} 1"));
  metrics.setCondition("prod", "db", Condition::kDeleted, ConditionStatus::kTrue);
  text = scrape(metrics);
  EXPECT_THAT(text, HasSubstr("condition=\"Deleted\",status=\"True\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("condition=\"Ready\"")));
}

// Validate that removing an object removes every one of its series and no other object's.
TEST_F(ObjectMetricsTest, RemoveObjectDropsItsSeries) {
  Metrics metrics = make(true);
  for (const char* name : {"db", "api"}) {
    metrics.recordSync("prod", name, true, std::chrono::milliseconds(1));
    metrics.setCondition("prod", name, Condition::kReady, ConditionStatus::kTrue);
    metrics.setLastSuccess(ObjectKind::kExternalSecret, "prod", name, clock_.now());
    metrics.setRefreshInterval(ObjectKind::kExternalSecret, "prod", name, seconds(60));
  }
  metrics.removeObject(ObjectKind::kExternalSecret, "prod", "db");
  const std::string text = scrape(metrics);
  EXPECT_THAT(text, Not(HasSubstr("name=\"db\"")));
  EXPECT_THAT(text,
              HasSubstr("externalsecret_sync_calls_total{name=\"api\",namespace=\"prod\"} 1"));
  EXPECT_THAT(text, HasSubstr("secretsync_last_success_timestamp_seconds{kind=\"externalsecret\","
                              "name=\"api\",namespace=\"prod\"}"));
  EXPECT_THAT(text, HasSubstr("secretsync_refresh_interval_seconds{kind=\"externalsecret\","
                              "name=\"api\",namespace=\"prod\"} 60"));
}

// Validate last success in Unix seconds and staleness beyond twice the interval, judged at scrape
// time; never-synced objects count from their first sighting, interval 0 never goes stale.
TEST_F(ObjectMetricsTest, LastSuccessAndStaleness) {
  Metrics metrics = make(true);
  const auto start = clock_.now();
  const double start_s = std::chrono::duration<double>(start.time_since_epoch()).count();
  metrics.setRefreshInterval(ObjectKind::kFile, "ns", "fresh", seconds(60));
  metrics.setLastSuccess(ObjectKind::kFile, "ns", "fresh", start);
  metrics.setRefreshInterval(ObjectKind::kFile, "ns", "never", seconds(60));
  metrics.setRefreshInterval(ObjectKind::kFile, "ns", "once", seconds(0));
  metrics.setLastSuccess(ObjectKind::kFile, "ns", "once", start);
  EXPECT_THAT(scrape(metrics),
              HasSubstr("secretsync_stale_objects{kind=\"file\",namespace=\"ns\"} 0"));
  EXPECT_DOUBLE_EQ(sample(scrape(metrics),
                          "secretsync_last_success_timestamp_seconds{kind=\"file\","
                          "name=\"fresh\",namespace=\"ns\"}"),
                   start_s);
  clock_.advance(seconds(121));
  EXPECT_THAT(scrape(metrics),
              HasSubstr("secretsync_stale_objects{kind=\"file\",namespace=\"ns\"} 2"));
  metrics.setLastSuccess(ObjectKind::kFile, "ns", "fresh", clock_.now());
  EXPECT_THAT(scrape(metrics),
              HasSubstr("secretsync_stale_objects{kind=\"file\",namespace=\"ns\"} 1"));
}

// Validate the aggregated mode: no series names an object; numbers are per namespace and survive
// the objects' removal where they are counters.
TEST_F(ObjectMetricsTest, WithoutPerObjectLabels) {
  Metrics metrics = make(false);
  EXPECT_FALSE(metrics.perObjectLabels());
  const auto start = clock_.now();
  metrics.recordSync("prod", "db", true, std::chrono::milliseconds(1));
  metrics.recordSync("prod", "api", false, std::chrono::milliseconds(1));
  metrics.setCondition("prod", "db", Condition::kReady, ConditionStatus::kTrue);
  metrics.setCondition("prod", "api", Condition::kReady, ConditionStatus::kFalse);
  metrics.setCondition("prod", "web", Condition::kReady, ConditionStatus::kTrue);
  metrics.setLastSuccess(ObjectKind::kExternalSecret, "prod", "db", start);
  metrics.setLastSuccess(ObjectKind::kExternalSecret, "prod", "web", start + seconds(10));
  metrics.setRefreshInterval(ObjectKind::kExternalSecret, "prod", "db", seconds(60));
  std::string text = scrape(metrics);
  EXPECT_THAT(text, Not(HasSubstr("name=")));
  EXPECT_THAT(text, Not(HasSubstr("externalsecret_reconcile_duration")));
  EXPECT_THAT(text, Not(HasSubstr("secretsync_refresh_interval_seconds")));
  EXPECT_THAT(text, HasSubstr("externalsecret_sync_calls_total{namespace=\"prod\"} 2"));
  EXPECT_THAT(text, HasSubstr("externalsecret_sync_calls_error{namespace=\"prod\"} 1"));
  EXPECT_THAT(text, HasSubstr("externalsecret_status_condition{condition=\"Ready\",namespace="
                              "\"prod\",status=\"True\"} 2"));
  EXPECT_THAT(text, HasSubstr("externalsecret_status_condition{condition=\"Ready\",namespace="
                              "\"prod\",status=\"False\"} 1"));
  // The oldest success of the namespace.
  EXPECT_DOUBLE_EQ(sample(text,
                          "secretsync_last_success_timestamp_seconds{kind=\"externalsecret\","
                          "namespace=\"prod\"}"),
                   std::chrono::duration<double>(start.time_since_epoch()).count());
  EXPECT_THAT(text, HasSubstr("secretsync_stale_objects{kind=\"externalsecret\",namespace="
                              "\"prod\"} 0"));
  metrics.removeObject(ObjectKind::kExternalSecret, "prod", "db");
  text = scrape(metrics);
  EXPECT_THAT(text, HasSubstr("externalsecret_sync_calls_total{namespace=\"prod\"} 2"));
  EXPECT_THAT(text, HasSubstr("status=\"True\"} 1"));
}

// Validate the store condition gauges (ClusterSecretStore with namespace "") and removal.
TEST_F(ObjectMetricsTest, StoreConditions) {
  Metrics metrics = make(true);
  metrics.setStoreReady(StoreKind::kSecretStore, "prod", "vault", ConditionStatus::kFalse);
  metrics.setStoreReady(StoreKind::kClusterSecretStore, "", "vault", ConditionStatus::kTrue);
  metrics.recordStoreReconcile(StoreKind::kSecretStore, "prod", "vault",
                               std::chrono::nanoseconds(1500));
  std::string text = scrape(metrics);
  EXPECT_THAT(text, HasSubstr("secretstore_status_condition{name=\"vault\",namespace=\"prod\","
                              "condition=\"Ready\",status=\"False\"} 1"));
  EXPECT_THAT(text, HasSubstr("clustersecretstore_status_condition{name=\"vault\",namespace=\"\","
                              "condition=\"Ready\",status=\"True\"} 1"));
  EXPECT_THAT(text, HasSubstr("secretstore_reconcile_duration{name=\"vault\",namespace=\"prod\"} "
                              "1500"));
  metrics.removeStore(StoreKind::kSecretStore, "prod", "vault");
  text = scrape(metrics);
  EXPECT_THAT(text,
              Not(HasSubstr("secretstore_status_condition{name=\"vault\",namespace=\"prod\"")));
  EXPECT_THAT(text, HasSubstr("clustersecretstore_status_condition"));
  EXPECT_EQ(Metrics::storeLabel(StoreKind::kSecretStore, "prod", "vault"),
            "SecretStore/prod/vault");
  EXPECT_EQ(Metrics::storeLabel(StoreKind::kClusterSecretStore, "", "vault"),
            "ClusterSecretStore/vault");
}

// Validate refresh latency, failures by fixed reasons, Kubernetes requests.
TEST_F(ObjectMetricsTest, RefreshFailuresAndKubeRequests) {
  Metrics metrics = make(true);
  metrics.recordRefresh(ObjectKind::kExternalSecret, "SecretStore/prod/vault",
                        std::chrono::milliseconds(20));
  metrics.recordFailure(ObjectKind::kCsi, "vault.example", reasonFromLabel("permission_denied"));
  metrics.recordFailure(ObjectKind::kCsi, "vault.example", reasonFromLabel("password=hunter2"));
  metrics.recordFailure(ObjectKind::kCsi, "vault.example",
                        reasonFromStatus(absl::UnavailableError("down")));
  metrics.recordKubeRequest("patch", "secrets", 200);
  metrics.recordKubeRequest("patch", "secrets", 409);
  const std::string text = scrape(metrics);
  EXPECT_THAT(text, HasSubstr("secretsync_refresh_duration_seconds_count{kind=\"externalsecret\","
                              "store=\"SecretStore/prod/vault\"} 1"));
  EXPECT_THAT(text, HasSubstr("secretsync_refresh_duration_seconds_bucket{kind=\"externalsecret\","
                              "store=\"SecretStore/prod/vault\",le=\"0.025\"} 1"));
  EXPECT_THAT(text, HasSubstr("secretsync_refresh_failures_total{kind=\"csi\",reason=\"permission_"
                              "denied\",store=\"vault.example\"} 1"));
  EXPECT_THAT(text, HasSubstr("reason=\"store_unavailable\""));
  EXPECT_THAT(text, HasSubstr("reason=\"other\""));
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));
  EXPECT_THAT(text, HasSubstr("secretsync_kube_requests_total{code=\"409\",resource=\"secrets\","
                              "verb=\"patch\"} 1"));
}

// Validate the mapping of canonical codes to the fixed reasons.
TEST(MetricsReasonTest, FromStatus) {
  EXPECT_EQ(reasonLabel(reasonFromStatus(absl::PermissionDeniedError(""))), "permission_denied");
  EXPECT_EQ(reasonLabel(reasonFromStatus(absl::UnauthenticatedError(""))), "store_auth");
  EXPECT_EQ(reasonLabel(reasonFromStatus(absl::NotFoundError(""))), "secret_not_found");
  EXPECT_EQ(reasonLabel(reasonFromStatus(absl::InvalidArgumentError(""))), "invalid_spec");
  EXPECT_EQ(reasonLabel(reasonFromStatus(absl::DeadlineExceededError(""))), "store_unavailable");
  EXPECT_EQ(reasonLabel(reasonFromStatus(absl::ResourceExhaustedError(""))), "store_unavailable");
  EXPECT_EQ(reasonLabel(reasonFromStatus(absl::DataLossError(""))), "other");
  for (const char* label :
       {"invalid_spec", "store_not_found", "store_auth", "store_unavailable", "secret_not_found",
        "permission_denied", "kube_write", "conflict", "other"}) {
    EXPECT_EQ(reasonLabel(reasonFromLabel(label)), label);
  }
  EXPECT_EQ(reasonFromLabel("Unavailable: vault down"), FailureReason::kOther);
  EXPECT_EQ(kindLabel(ObjectKind::kCsi), "csi");
}

// Validate the token TTL: the shortest of the store's tokens, counting down at scrape time, gone
// with the last token.
TEST_F(ObjectMetricsTest, TokenTtlCountsDown) {
  Metrics metrics = make(true);
  metrics.setTokenTtl("vault-a", "role-x", seconds(3600));
  metrics.setTokenTtl("vault-a", "role-y", seconds(600));
  clock_.advance(seconds(100));
  EXPECT_THAT(scrape(metrics),
              HasSubstr("secretsync_vault_token_ttl_seconds{store=\"vault-a\"} 500"));
  metrics.removeToken("vault-a", "role-y");
  EXPECT_THAT(scrape(metrics),
              HasSubstr("secretsync_vault_token_ttl_seconds{store=\"vault-a\"} 3500"));
  metrics.removeToken("vault-a", "role-x");
  EXPECT_THAT(scrape(metrics), Not(HasSubstr("secretsync_vault_token_ttl_seconds")));
}

// Validate controller-runtime's queue and reconcile series.
TEST_F(ObjectMetricsTest, WorkQueueAndReconcileAsControllerRuntime) {
  Metrics metrics = make(true);
  WorkQueueMetrics queue = metrics.workQueue("externalsecret");
  queue.onAdd();
  queue.onAdd();
  queue.onDepth(1);
  queue.onQueueLatency(std::chrono::milliseconds(2));
  queue.onWorkDuration(std::chrono::milliseconds(30));
  queue.onRetry();
  double unfinished = 3;
  metrics.setQueueInFlightSource("externalsecret", [&unfinished] {
    return InFlight{std::chrono::duration<double>(unfinished), std::chrono::seconds(2)};
  });
  metrics.recordReconcile("externalsecret", ReconcileResult::kSuccess,
                          std::chrono::milliseconds(4));
  metrics.recordReconcile("externalsecret", ReconcileResult::kError, std::chrono::milliseconds(4));
  metrics.setWorkers("externalsecret", 1, 4);
  const std::string text = scrape(metrics);
  const std::string labels = "{controller=\"externalsecret\",name=\"externalsecret\"}";
  EXPECT_THAT(text, HasSubstr("workqueue_depth" + labels + " 1"));
  EXPECT_THAT(text, HasSubstr("workqueue_adds_total" + labels + " 2"));
  EXPECT_THAT(text, HasSubstr("workqueue_retries_total" + labels + " 1"));
  EXPECT_THAT(text, HasSubstr("workqueue_queue_duration_seconds_count" + labels + " 1"));
  EXPECT_THAT(text, HasSubstr("workqueue_work_duration_seconds_sum" + labels + " 0.03"));
  EXPECT_THAT(text, HasSubstr("workqueue_unfinished_work_seconds" + labels + " 3"));
  unfinished = 5;
  EXPECT_THAT(scrape(metrics), HasSubstr("workqueue_unfinished_work_seconds" + labels + " 5"));
  EXPECT_THAT(text, HasSubstr("workqueue_longest_running_processor_seconds" + labels + " 2"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_total{controller=\"externalsecret\","
                              "result=\"error\"} 1"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_errors_total{controller="
                              "\"externalsecret\"} 1"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_time_seconds_count{controller="
                              "\"externalsecret\"} 2"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_max_concurrent_reconciles{controller="
                              "\"externalsecret\"} 4"));
}

// Validate the status classes, including what is not HTTP at all.
TEST(MetricsStatusClassTest, Classes) {
  EXPECT_EQ(Metrics::statusClass(204), "2xx");
  EXPECT_EQ(Metrics::statusClass(307), "3xx");
  EXPECT_EQ(Metrics::statusClass(429), "4xx");
  EXPECT_EQ(Metrics::statusClass(501), "5xx");
  EXPECT_EQ(Metrics::statusClass(0), "error");
}

}  // namespace
}  // namespace secretsync::metrics
