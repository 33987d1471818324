#include "pkg/metrics/metrics_server.h"

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace secretsync::metrics {

absl::StatusOr<ListenAddress> parseListenAddress(std::string_view address_view) {
  // Debian's Abseil has its own string_view type; take one copy for StrCat and friends.
  const std::string address(address_view);
  const size_t colon = address.rfind(':');
  const std::string port = colon == std::string::npos ? address : address.substr(colon + 1);
  uint32_t port_number = 0;
  if (port.empty() || !absl::SimpleAtoi(port, &port_number) || port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", address, "\": port must be a number in 0..65535"));
  }
  return ListenAddress{.host = colon == std::string::npos ? "" : address.substr(0, colon),
                       .port = static_cast<uint16_t>(port_number)};
}

absl::StatusOr<std::string> civetListenAddress(std::string_view address) {
  absl::StatusOr<ListenAddress> parsed = parseListenAddress(address);
  if (!parsed.ok()) {
    return parsed.status();
  }
  if (parsed->host.empty()) {
    return std::to_string(parsed->port);
  }
  return absl::StrCat(parsed->host, ":", parsed->port);
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::start(
    std::string_view address, std::shared_ptr<prometheus::Collectable> collectable) {
  absl::StatusOr<std::string> listen = civetListenAddress(address);
  const std::string shown(address);
  if (!listen.ok()) {
    return listen.status();
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  // civetweb reports a bind failure by throwing from the constructor; keep it inside.
  try {
    exposer = std::make_unique<prometheus::Exposer>(*listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for metrics on \"", shown, "\": ", e.what()));
  }
  exposer->RegisterCollectable(collectable, "/metrics");
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("metrics server on \"", shown, "\" bound no port"));
  }
  return std::unique_ptr<MetricsServer>(new MetricsServer(
      std::move(collectable), std::move(exposer), static_cast<uint16_t>(ports.front())));
}

MetricsServer::MetricsServer(std::shared_ptr<prometheus::Collectable> collectable,
                             std::unique_ptr<prometheus::Exposer> exposer, uint16_t port)
    : collectable_(std::move(collectable)), exposer_(std::move(exposer)), port_(port) {}

MetricsServer::~MetricsServer() {
  // Stop serving before what it serves can go away.
  exposer_.reset();
}

}  // namespace secretsync::metrics
