// 1,000 concurrent CSI Mounts over 50 distinct objects: the provider in-process on a real unix
// socket, called through gRPC as the driver calls it, reading from the Vault double on loopback
// with Kubernetes auth. Prints Mount latency (p50/p99/max), the store reads and logins made, and
// what vault-csi-provider would make for the same mounts: one read per object per mount, and a
// login per pod (its client cache is keyed by the pod).
//
// The mounts are split among `--apps` workloads, each its own service account and role, each
// mounting its own `--objects-per-mount` objects; apps × objects-per-mount distinct objects in all.
//
// Usage: csi_mount_bench [--mounts 1000] [--apps 10] [--objects-per-mount 5] [--rounds 2]
//                        [--cache-ttl-ms 5000]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "bench/bench_flags.h"
#include "pkg/common/clock.h"
#include "pkg/common/flags.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/log.h"
#include "pkg/csi/provider_server.h"
#include "test/csi/csi_test_util.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::bench {
namespace {

constexpr char kJwtKey[] = "csi-mount-bench-signing-key";

const std::vector<common::FlagSpec> kFlags = {
    {.name = "mounts", .help = "concurrent Mounts per round, one pod each (default 1000)"},
    {.name = "apps", .help = "workloads: service accounts, roles, object sets (default 10)"},
    {.name = "objects-per-mount", .help = "objects each app mounts (default 5)"},
    {.name = "rounds", .help = "rounds of concurrent Mounts (default 2: cold, then cached)"},
    {.name = "cache-ttl-ms", .help = "the provider's --cache-ttl in ms (default 5000)"},
};

std::string appName(int app) { return absl::StrCat("app", app); }

// Seeds one role, policy and `objects` secrets per app. @return false on a seeding error.
bool seed(test::VaultDouble& vault, int apps, int objects) {
  vault.enableKubernetesAuth("kubernetes", {.jwt_hs256_key = kJwtKey});
  for (int app = 0; app < apps; ++app) {
    const std::string name = appName(app);
    vault.putPolicy(name,
                    {{absl::StrCat("secret/data/", name, "/*"), {test::vault::Capability::kRead}}});
    if (!vault
             .addKubernetesRole("kubernetes", {.name = name,
                                               .bound_service_account_names = {name},
                                               .bound_service_account_namespaces = {"bench"},
                                               .audience = "vault",
                                               .policies = {name},
                                               .token_ttl = std::chrono::hours(1),
                                               .token_max_ttl = std::chrono::hours(2)})
             .ok()) {
      return false;
    }
    for (int object = 0; object < objects; ++object) {
      if (!vault
               .putSecret("secret", absl::StrCat(name, "/key-", object),
                          {{"value", absl::StrCat("value-", app, "-", object)}})
               .ok()) {
        return false;
      }
    }
  }
  return true;
}

// The request the driver sends for pod `pod` of app `app`.
v1alpha1::MountRequest mountRequest(int app, int pod, int objects, common::SystemTime expiry) {
  const std::string name = appName(app);
  std::string yaml;
  for (int object = 0; object < objects; ++object) {
    absl::StrAppend(&yaml, "- {objectName: key-", object, ", secretPath: secret/data/", name,
                    "/key-", object, ", secretKey: value}\n");
  }
  csi::testing::TestPod p;
  p.name = absl::StrCat(name, "-", pod);
  p.namespace_name = "bench";
  p.uid = absl::StrCat("uid-", pod);
  p.service_account = name;
  p.tokens["vault"] = test::mintServiceAccountJwt(kJwtKey, "bench", name, {"vault"}, expiry, p.uid);
  return csi::testing::driverRequest({{"roleName", name}, {"objects", yaml}}, p);
}

double percentileMs(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const size_t index =
      std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[index];
}

int run(int argc, char** argv) {
  auto flags = common::parseFlags(std::vector<std::string>(argv + 1, argv + argc), kFlags);
  if (!flags.ok()) {
    std::cerr << flags.status() << "\n" << common::flagsHelp(kFlags);
    return 2;
  }
  const int mounts = intFlag(*flags, "mounts", 1000);
  const int apps = intFlag(*flags, "apps", 10);
  const int objects = intFlag(*flags, "objects-per-mount", 5);
  const int rounds = intFlag(*flags, "rounds", 2);
  const int cache_ttl_ms = intFlag(*flags, "cache-ttl-ms", 5000);
  if (mounts < 1 || apps < 1 || objects < 1 || rounds < 1) {
    std::cerr << "--mounts, --apps, --objects-per-mount and --rounds must be positive\n";
    return 2;
  }
  common::log::configure({.level = common::log::Level::kError});
  common::http::CurlGlobal curl;

  auto vault = test::VaultDouble::start();
  if (!vault.ok() || !seed(**vault, apps, objects)) {
    std::cerr << "cannot start or seed the Vault double\n";
    return 1;
  }
  csi::ProviderOptions options;
  options.default_vault_address = (*vault)->baseUrl();
  options.fetcher.cache_ttl = std::chrono::milliseconds(cache_ttl_ms);
  csi::Provider provider(common::realClock(), std::move(options));
  char dir_template[] = "/tmp/csi-mount-bench-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    std::cerr << "mkdtemp failed\n";
    return 1;
  }
  const std::string socket = absl::StrCat(dir_template, "/secretsync.sock");
  auto server = csi::ProviderServer::start(socket, provider);
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    return 1;
  }

  // Requests (with their JWTs) are built before the clock starts.
  const common::SystemTime expiry = common::realClock().now() + std::chrono::hours(1);
  std::vector<v1alpha1::MountRequest> requests;
  requests.reserve(mounts);
  for (int pod = 0; pod < mounts; ++pod) {
    requests.push_back(mountRequest(pod % apps, pod, objects, expiry));
  }
  // One channel per 50 callers, as a node has one driver but gRPC multiplexes its calls.
  std::vector<std::unique_ptr<csi::testing::ProviderClient>> clients;
  for (int i = 0; i < (mounts + 49) / 50; ++i) {
    clients.push_back(std::make_unique<csi::testing::ProviderClient>(socket));
  }

  std::printf("mounts=%d apps=%d objects_per_mount=%d distinct_objects=%d cache_ttl_ms=%d\n",
              mounts, apps, objects, apps * objects, cache_ttl_ms);
  int exit_code = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto stats_before = provider.stats();
    const uint64_t vault_requests_before = (*vault)->requestCount();
    const uint64_t logins_before = (*vault)->loginCount("kubernetes");
    std::vector<double> latency_ms(mounts);
    std::vector<int> failed(mounts);
    std::latch start(mounts + 1);
    std::vector<std::thread> threads;
    threads.reserve(mounts);
    for (int i = 0; i < mounts; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        const auto begin = std::chrono::steady_clock::now();
        const csi::testing::MountResult result = clients[i / 50]->mount(requests[i]);
        latency_ms[i] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
                .count();
        failed[i] = result.status.ok() && result.response.files_size() == objects ? 0 : 1;
      });
    }
    const auto wall_begin = std::chrono::steady_clock::now();
    start.arrive_and_wait();
    for (std::thread& thread : threads) {
      thread.join();
    }
    const double wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_begin)
            .count();
    std::sort(latency_ms.begin(), latency_ms.end());
    const auto stats = provider.stats();
    const uint64_t reads = stats.fetcher.store_reads - stats_before.fetcher.store_reads;
    const uint64_t errors = static_cast<uint64_t>(std::count(failed.begin(), failed.end(), 1));
    const uint64_t logins = (*vault)->loginCount("kubernetes") - logins_before;
    std::printf(
        "round=%d wall_ms=%.0f errors=%llu mount_p50_ms=%.1f mount_p99_ms=%.1f mount_max_ms=%.1f "
        "store_reads=%llu vault_logins=%llu vault_http_requests=%llu | vault-csi-provider: "
        "store_reads=%d vault_logins<=%d\n",
        round, wall_ms, static_cast<unsigned long long>(errors), percentileMs(latency_ms, 0.50),
        percentileMs(latency_ms, 0.99), latency_ms.back(), static_cast<unsigned long long>(reads),
        static_cast<unsigned long long>(logins),
        static_cast<unsigned long long>((*vault)->requestCount() - vault_requests_before),
        mounts * objects, mounts);
    if (errors > 0) {
      exit_code = 1;
    }
  }
  (*server)->shutdown();
  server->reset();
  std::filesystem::remove_all(dir_template);
  return exit_code;
}

}  // namespace
}  // namespace secretsync::bench

int main(int argc, char** argv) { return secretsync::bench::run(argc, argv); }
