#include "pkg/metrics/metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace secretsync::metrics {
namespace {

using ::testing::HasSubstr;

std::string scrape(const Metrics& metrics) {
  return prometheus::TextSerializer().Serialize(metrics.Collect());
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
