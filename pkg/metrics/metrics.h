#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace secretsync::metrics {

// Every metric secretsync exports is declared here, once (Envoy's stats-struct idea), so names,
// help texts, label sets and buckets are reviewed in one place. Labels never carry a secret, a
// token or a secret path: Vault operations are reduced to a method and a path template
// ("GET secret/*"), CSI errors to a fixed set of gRPC code names.
//
// It is itself the Collectable to expose: the registry's families plus counters read at scrape
// time from components that already count (the Fetcher), so nothing is counted twice.
//
// Thread-safety: all methods may be called from many threads at once (prometheus-cpp's metrics
// are atomic and its families lock when a new label set is added).
class Metrics final : public prometheus::Collectable {
 public:
  struct BuildInfo {
    std::string version;
    std::string commit;
  };

  Metrics(std::shared_ptr<prometheus::Registry> registry, const BuildInfo& build);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // One HTTP attempt to Vault. `status` is the HTTP status, 0 when the request failed below HTTP.
  //   secretsync_vault_requests_total{operation, status_class}
  //   secretsync_vault_request_duration_seconds{operation}
  void observeVaultRequest(std::string_view method, std::string_view path_template, int status,
                           std::chrono::nanoseconds duration);

  // One CSI Mount. `error_code` is empty on success, else MountResponse.error.code
  // ("PermissionDenied", ...).
  //   secretsync_csi_mount_duration_seconds (every mount)
  //   secretsync_csi_mount_errors_total{code}
  void observeCsiMount(std::string_view error_code, std::chrono::nanoseconds duration);

  // Exports a counter whose value `read` returns at each scrape (a monotonic count kept elsewhere).
  void addCounterSource(std::string name, std::string help, std::function<double()> read);

  // prometheus::Collectable
  std::vector<prometheus::MetricFamily> Collect() const override;

  // @return "2xx", "4xx", "5xx" ... for an HTTP status, "error" for 0 (no HTTP answer).
  static std::string statusClass(int status);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& vault_requests_;
  prometheus::Family<prometheus::Histogram>& vault_request_duration_;
  prometheus::Histogram& csi_mount_duration_;
  prometheus::Family<prometheus::Counter>& csi_mount_errors_;

  struct CounterSource {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  mutable std::mutex sources_mu_;
  std::vector<CounterSource> sources_;
};

}  // namespace secretsync::metrics
