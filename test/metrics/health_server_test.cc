#include "pkg/metrics/health_server.h"

#include <atomic>
#include <string>

#include "gtest/gtest.h"
#include "test/metrics/raw_http_get.h"

namespace secretsync::metrics {
namespace {

TEST(HealthServerTest, ProbesFollowTheirChecks) {
  std::atomic<bool> ready{false};
  auto server = HealthServer::start(
      "127.0.0.1:0", [] { return absl::OkStatus(); },
      [&ready] {
        return ready ? absl::OkStatus() : absl::UnavailableError("informer caches not synced");
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  ASSERT_NE(port, 0);

  EXPECT_NE(httpGet(port, "/healthz").find("200 OK"), std::string::npos);
  const std::string not_ready = httpGet(port, "/readyz");
  EXPECT_NE(not_ready.find("503"), std::string::npos) << not_ready;
  EXPECT_NE(not_ready.find("informer caches not synced"), std::string::npos) << not_ready;

  ready = true;
  EXPECT_NE(httpGet(port, "/readyz?verbose").find("200 OK"), std::string::npos);
  EXPECT_NE(httpGet(port, "/metrics").find("404"), std::string::npos);
}

TEST(HealthServerTest, RefusesBadAddressesAndBusyPorts) {
  auto check = [] { return absl::OkStatus(); };
  EXPECT_EQ(HealthServer::start("localhost:x", check, check).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HealthServer::start("not-an-ip:0", check, check).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = HealthServer::start("127.0.0.1:0", check, check);
  ASSERT_TRUE(first.ok());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  EXPECT_EQ(HealthServer::start(taken, check, check).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(HealthServerTest, AnIdleConnectionDoesNotBlockOthers) {
  auto check = [] { return absl::OkStatus(); };
  auto server = HealthServer::start(":0", check, check);
  ASSERT_TRUE(server.ok()) << server.status();
  // A peer that connects and sends nothing.
  const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((*server)->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_NE(httpGet((*server)->port(), "/healthz").find("200 OK"), std::string::npos);
  ::close(idle);
}

}  // namespace
}  // namespace secretsync::metrics
