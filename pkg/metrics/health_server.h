#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace secretsync::metrics {

// A probe: OK = healthy; otherwise the message says why not (it is sent in the reply body, so it
// must hold no secret).
using HealthCheck = std::function<absl::Status()>;

// Serves Kubernetes probes over plain HTTP/1.1: GET /healthz (liveness) and GET /readyz
// (readiness) answer 200 "ok" when their check passes and 503 with the check's message when it
// does not; anything else is 404. Probes are tiny and rare, so one thread serves every
// connection asynchronously; a peer that sends nothing is dropped after 5 s, so a slow client
// cannot hold the server.
//
// Thread-safety: the checks are called on the server's thread and must be thread-safe against the
// rest of the program. start() and the destructor are called by one thread.
class HealthServer {
 public:
  // Starts serving on `address` ("HOST:PORT", ":PORT" or "PORT"; port 0 picks one).
  // @return kInvalidArgument for a malformed address, kUnavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HealthServer>> start(std::string_view address,
                                                             HealthCheck liveness,
                                                             HealthCheck readiness);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  uint16_t port() const { return port_; }

  struct State;

 private:
  HealthServer(std::unique_ptr<State> state, uint16_t port);

  std::unique_ptr<State> state_;
  uint16_t port_;
  std::thread thread_;
};

}  // namespace secretsync::metrics
