// Reads per second through the store client (curl pool → transport → token manager → KV v2 client)
// against a running Vault (or the Vault double) on loopback: N concurrent callers over M distinct
// paths for a fixed time. No Fetcher: every read is an HTTP request, so the figure is the client's
// own cost and comparable with wrk fetching the same paths (bench/run_store_read_bench.sh).
//
// Usage: store_read_bench --address URL --token T [--callers N] [--paths M] [--seconds S]
//                         [--prefix secret/bench/key-]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/bench_flags.h"
#include "pkg/common/clock.h"
#include "pkg/common/flags.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/store/vault/vault_store.h"

namespace secretsync::bench {
namespace {

const std::vector<common::FlagSpec> kFlags = {
    {.name = "address", .help = "Vault address"},
    {.name = "token", .help = "Vault token"},
    {.name = "callers", .help = "concurrent callers (default 32)"},
    {.name = "paths", .help = "distinct paths (default 50)"},
    {.name = "seconds", .help = "duration (default 10)"},
    {.name = "prefix", .help = "path prefix, followed by 0..M-1 (default secret/bench/key-)"},
};

int run(int argc, char** argv) {
  auto flags = common::parseFlags(std::vector<std::string>(argv + 1, argv + argc), kFlags);
  if (!flags.ok() || !flags->has("address") || !flags->has("token")) {
    std::cerr << (flags.ok() ? "--address and --token are required" : flags.status().ToString())
              << "\n"
              << common::flagsHelp(kFlags);
    return 2;
  }
  const int callers = intFlag(*flags, "callers", 32);
  const int paths = intFlag(*flags, "paths", 50);
  const int seconds = intFlag(*flags, "seconds", 10);
  const std::string prefix = flags->get("prefix", "secret/bench/key-");

  common::http::CurlGlobal curl;
  store::vault::VaultStoreConfig config;
  config.address = flags->get("address");
  config.auth = store::vault::TokenAuthConfig{common::SecretString(flags->get("token"))};
  common::http::CurlHttpClientOptions http_options;
  http_options.max_idle_handles = static_cast<uint32_t>(callers);
  auto http = common::http::newCurlHttpClient(http_options);
  if (!http.ok()) {
    std::cerr << http.status() << "\n";
    return 1;
  }
  auto store =
      store::vault::VaultStore::create(std::move(config), common::realClock(), http->get());
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    return 1;
  }
  // Warm up: log in and learn the mount once, outside the timed window.
  if (auto first = (*store)->read({.path = prefix + "0"}); !first.ok()) {
    std::cerr << "warm-up read failed: " << first.status() << "\n";
    return 1;
  }

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0};
  std::vector<std::vector<double>> latencies(callers);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      for (uint64_t i = c; !stop.load(std::memory_order_relaxed); ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto secret = (*store)->read({.path = prefix + std::to_string(i % paths)});
        const auto t1 = std::chrono::steady_clock::now();
        if (!secret.ok()) {
          errors.fetch_add(1, std::memory_order_relaxed);
        }
        latencies[c].push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& thread : threads) {
    thread.join();
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<double> all;
  for (const auto& per_caller : latencies) {
    all.insert(all.end(), per_caller.begin(), per_caller.end());
  }
  std::sort(all.begin(), all.end());
  const auto percentile = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf(
      "store_read_bench callers=%d paths=%d seconds=%.1f reads=%zu errors=%llu "
      "reads_per_second=%.0f p50_us=%.0f p99_us=%.0f\n",
      callers, paths, elapsed, all.size(), static_cast<unsigned long long>(errors.load()),
      static_cast<double>(all.size()) / elapsed, percentile(0.50), percentile(0.99));
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace secretsync::bench

int main(int argc, char** argv) { return secretsync::bench::run(argc, argv); }
