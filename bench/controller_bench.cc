// The controller at scale: N ExternalSecrets over P Vault paths, the engine in-process against the
// Kubernetes API double (plain HTTP on loopback, through the real RestKubeClient) and the Vault
// double. Prints the time until every Secret exists, the Vault reads and logins and the API writes
// that cost, then what one more refresh cycle with nothing new in Vault costs (ESO: a status
// UPDATE per ExternalSecret per refresh, and a Vault login per reconcile without its token cache),
// and the process's RSS growth while the controller ran.
//
// Usage: controller_bench [--externalsecrets 1000] [--paths 50] [--concurrent 4]
//                         [--refresh-seconds 5] [--watch-seconds 12]
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_flags.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/kube/rest_kube_client.h"
#include "pkg/sync/controller.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::bench {
namespace {

using Json = nlohmann::json;
constexpr char kNamespace[] = "bench";
constexpr char kToken[] = "bench-token";

const std::vector<common::FlagSpec> kFlags = {
    {.name = "externalsecrets", .help = "ExternalSecrets (default 1000)"},
    {.name = "paths", .help = "distinct Vault paths they read (default 50)"},
    {.name = "concurrent", .help = "controller workers (default 4)"},
    {.name = "refresh-seconds", .help = "their refreshInterval (default 5)"},
    {.name = "watch-seconds", .help = "how long the steady state is watched (default 12)"},
};

// Resident set size of this process, from /proc/self/status.
long rssKiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

size_t writes(const test::KubeDouble& kube, const std::string& resource) {
  size_t n = 0;
  for (const auto& w : kube.writeLog()) n += w.resource == resource ? 1 : 0;
  return n;
}

int run(const common::ParsedFlags& flags) {
  const int count = intFlag(flags, "externalsecrets", 1000);
  const int paths = intFlag(flags, "paths", 50);
  const int concurrent = intFlag(flags, "concurrent", 4);
  const int refresh = intFlag(flags, "refresh-seconds", 5);
  const int watch = intFlag(flags, "watch-seconds", 12);

  auto vault = test::VaultDouble::start();
  auto kube = test::KubeDouble::start({.tokens = {{kToken, "bench"}}});
  if (!vault.ok() || !kube.ok()) {
    std::cerr << "cannot start the doubles\n";
    return 1;
  }
  (void)(*kube)->createNamespace(kNamespace);
  for (int p = 0; p < paths; ++p) {
    (void)(*vault)->putSecret("secret", absl::StrCat("bench/p", p),
                              {{"password", absl::StrCat("value-", p)}});
  }
  (void)(*kube)->putObject(Json{{"apiVersion", "v1"},
                                {"kind", "Secret"},
                                {"metadata", {{"name", "vault-token"}, {"namespace", kNamespace}}},
                                {"data", {{"token", absl::Base64Escape((*vault)->rootToken())}}}});
  (void)(*kube)->putObject(Json{
      {"apiVersion", "external-secrets.io/v1"},
      {"kind", "SecretStore"},
      {"metadata", {{"name", "vault"}, {"namespace", kNamespace}}},
      {"spec",
       {{"provider",
         {{"vault",
           {{"server", (*vault)->baseUrl()},
            {"path", "secret"},
            {"auth", {{"tokenSecretRef", {{"name", "vault-token"}, {"key", "token"}}}}}}}}}}}});
  for (int i = 0; i < count; ++i) {
    (void)(*kube)->putObject(
        Json{{"apiVersion", "external-secrets.io/v1"},
             {"kind", "ExternalSecret"},
             {"metadata", {{"name", absl::StrCat("es-", i)}, {"namespace", kNamespace}}},
             {"spec",
              {{"refreshInterval", absl::StrCat(refresh, "s")},
               {"secretStoreRef", {{"name", "vault"}}},
               {"data",
                {{{"secretKey", "password"},
                  {"remoteRef",
                   {{"key", absl::StrCat("bench/p", i % paths)}, {"property", "password"}}}}}}}}});
  }
  (*vault)->resetCounters();
  (*kube)->clearWriteLog();

  common::http::CurlGlobal curl;
  kube::KubeConfig config;
  config.server = (*kube)->baseUrl();
  config.token = common::SecretString(kToken);
  auto client = kube::RestKubeClient::create(config, nullptr);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }
  sync::ControllerOptions options;
  options.concurrent = concurrent;
  options.resolver.own_service_account_token_file = "/nonexistent";
  auto controller = sync::Controller::create(**client, common::realClock(), options);
  if (!controller.ok()) {
    std::cerr << controller.status() << "\n";
    return 1;
  }
  const long rss_before = rssKiB();
  const auto started = std::chrono::steady_clock::now();
  (*controller)->start();
  (*controller)->startWorkers();
  while ((*kube)->listObjects("v1", "Secret", kNamespace).size() < static_cast<size_t>(count + 1)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double first_sync =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Let the status writes of the first sync land before the steady state is measured.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const uint64_t reads = (*vault)->requestCount();
  std::cout << "ExternalSecrets " << count << " over " << paths << " paths, " << concurrent
            << " workers, refreshInterval " << refresh << "s\n"
            << "first sync of all:     " << first_sync << " s ("
            << static_cast<int>(count / first_sync) << " ExternalSecrets/s)\n"
            << "  Vault requests:      " << reads << " (token lookups: "
            << (*vault)->requestCount("GET", "auth/token/lookup-self") << ")\n"
            << "  Secret writes:       " << writes(**kube, "secrets") << "\n"
            << "  status writes:       " << writes(**kube, "externalsecrets/status") << "\n";

  (*vault)->resetCounters();
  (*kube)->clearWriteLog();
  std::this_thread::sleep_for(std::chrono::seconds(watch));
  const double cycles = static_cast<double>(watch) / refresh;
  std::cout << "steady state, " << watch << " s (~" << cycles
            << " refresh cycles), Vault unchanged:\n"
            << "  Vault requests:      " << (*vault)->requestCount() << " (ESO: ~"
            << static_cast<long>(count * cycles) << " reads + logins)\n"
            << "  Secret writes:       " << writes(**kube, "secrets") << "\n"
            << "  status writes:       " << writes(**kube, "externalsecrets/status") << " (ESO: ~"
            << static_cast<long>(count * cycles) << ")\n"
            << "RSS growth while running: " << (rssKiB() - rss_before) / 1024 << " MiB\n";
  (*controller)->stop();
  return 0;
}

}  // namespace
}  // namespace secretsync::bench

int main(int argc, char** argv) {
  auto flags = secretsync::common::parseFlags(std::vector<std::string>(argv + 1, argv + argc),
                                              secretsync::bench::kFlags);
  if (!flags.ok()) {
    std::cerr << flags.status().message() << "\n"
              << secretsync::common::flagsHelp(secretsync::bench::kFlags);
    return 2;
  }
  return secretsync::bench::run(*flags);
}
