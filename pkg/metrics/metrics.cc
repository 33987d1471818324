#include "pkg/metrics/metrics.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"

namespace secretsync::metrics {
namespace {

using common::av;

// Seconds from 1 ms to 60 s: a loopback read is ~1 ms, Vault's client gives up at 60 s.
const prometheus::Histogram::BucketBoundaries& latencyBuckets() {
  static const auto* const kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *kBuckets;
}

double seconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace

Metrics::Metrics(std::shared_ptr<prometheus::Registry> registry, const BuildInfo& build)
    : registry_(std::move(registry)),
      vault_requests_(prometheus::BuildCounter()
                          .Name("secretsync_vault_requests_total")
                          .Help("HTTP requests sent to Vault, retries included, by operation "
                                "(method and path template) and status class.")
                          .Register(*registry_)),
      vault_request_duration_(prometheus::BuildHistogram()
                                  .Name("secretsync_vault_request_duration_seconds")
                                  .Help("Duration of one HTTP request to Vault, by operation.")
                                  .Register(*registry_)),
      csi_mount_duration_(prometheus::BuildHistogram()
                              .Name("secretsync_csi_mount_duration_seconds")
                              .Help("Duration of CSI Mount calls, failed ones included.")
                              .Register(*registry_)
                              .Add({}, latencyBuckets())),
      csi_mount_errors_(prometheus::BuildCounter()
                            .Name("secretsync_csi_mount_errors_total")
                            .Help("Failed CSI Mount calls by MountResponse error code.")
                            .Register(*registry_)) {
  prometheus::BuildGauge()
      .Name("secretsync_build_info")
      .Help("Always 1; the labels say which build is running.")
      .Register(*registry_)
      .Add({{"version", build.version}, {"commit", build.commit}})
      .Set(1);
}

void Metrics::addCounterSource(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(sources_mu_);
  sources_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::lock_guard lock(sources_mu_);
  for (const CounterSource& source : sources_) {
    prometheus::ClientMetric metric;
    metric.counter.value = source.read();
    families.push_back({source.name, source.help, prometheus::MetricType::Counter, {metric}});
  }
  return families;
}

std::string Metrics::statusClass(int status) {
  if (status < 100 || status > 599) {
    return "error";
  }
  return absl::StrCat(status / 100, "xx");
}

void Metrics::observeVaultRequest(std::string_view method, std::string_view path_template,
                                  int status, std::chrono::nanoseconds duration) {
  const std::string operation = absl::StrCat(av(method), " ", av(path_template));
  vault_requests_.Add({{"operation", operation}, {"status_class", statusClass(status)}})
      .Increment();
  vault_request_duration_.Add({{"operation", operation}}, latencyBuckets())
      .Observe(seconds(duration));
}

void Metrics::observeCsiMount(std::string_view error_code, std::chrono::nanoseconds duration) {
  csi_mount_duration_.Observe(seconds(duration));
  if (!error_code.empty()) {
    csi_mount_errors_.Add({{"code", std::string(error_code)}}).Increment();
  }
}

}  // namespace secretsync::metrics
