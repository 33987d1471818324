#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"

namespace secretsync::metrics {

// Serves one Prometheus collectable (a Registry, or Metrics) on `/metrics` over HTTP
// (prometheus-cpp's civetweb exposer).
//
// The server shares ownership of what it serves: prometheus-cpp keeps only a weak reference to it,
// so it must outlive the exposer, and holding it here makes that so.
//
// Thread-safety: what it serves must be thread-safe (Registry and Metrics are); the server is
// started and destroyed by one thread.
class MetricsServer {
 public:
  // Starts serving `collectable` at `address`: "HOST:PORT", ":PORT" (all interfaces, as Go flags
  // write it) or "PORT"; port 0 picks a free one (see port()).
  // @return kInvalidArgument for a malformed address, kUnavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> start(
      std::string_view address, std::shared_ptr<prometheus::Collectable> collectable);

  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // @return the port actually bound.
  uint16_t port() const { return port_; }

 private:
  MetricsServer(std::shared_ptr<prometheus::Collectable> collectable,
                std::unique_ptr<prometheus::Exposer> exposer, uint16_t port);

  std::shared_ptr<prometheus::Collectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t port_;
};

// A listen address split: host "" means all interfaces.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

// Parses "HOST:PORT", ":PORT" (all interfaces, as Go flags write it) or "PORT".
// @return kInvalidArgument naming the address when the port is not a number in 0..65535.
absl::StatusOr<ListenAddress> parseListenAddress(std::string_view address);

// Splits "HOST:PORT", ":PORT" or "PORT" into civetweb's listening option ("HOST:PORT" or "PORT").
// @return kInvalidArgument naming the address when the port is not a number in 0..65535.
absl::StatusOr<std::string> civetListenAddress(std::string_view address);

}  // namespace secretsync::metrics
