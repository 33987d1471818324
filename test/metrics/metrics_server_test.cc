#include "pkg/metrics/metrics_server.h"

#include <string>

#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "test/metrics/raw_http_get.h"

namespace secretsync::metrics {
namespace {

// Validate that a registered counter is served on /metrics from a port-0 server.
TEST(MetricsServerTest, ServesRegistryOnMetricsPath) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& family = prometheus::BuildCounter()
                     .Name("secretsync_test_events_total")
                     .Help("Test counter.")
                     .Register(*registry);
  family.Add({{"kind", "a"}}).Increment(3);

  auto server = MetricsServer::start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_NE((*server)->port(), 0);
  const std::string body = httpGet((*server)->port(), "/metrics");
  EXPECT_NE(body.find("200 OK"), std::string::npos) << body;
  EXPECT_NE(body.find("secretsync_test_events_total{kind=\"a\"} 3"), std::string::npos) << body;
}

// Validate that Go-style ":PORT" and bare ports are accepted and junk is refused by name.
TEST(MetricsServerTest, ParsesListenAddresses) {
  EXPECT_EQ(*civetListenAddress(":8080"), "8080");
  EXPECT_EQ(*civetListenAddress("8080"), "8080");
  EXPECT_EQ(*civetListenAddress("127.0.0.1:0"), "127.0.0.1:0");
  const auto bad = civetListenAddress("localhost:http");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("localhost:http"), std::string::npos);
  EXPECT_FALSE(civetListenAddress(":70000").ok());
}

// Validate that a port already taken gives a Status, not an exception.
TEST(MetricsServerTest, BusyPortIsAnError) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = MetricsServer::start("127.0.0.1:0", registry);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsServer::start("127.0.0.1:" + std::to_string((*first)->port()), registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace secretsync::metrics
