#include "cmd/secretsync/csi_provider_command.h"

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "build_info.h"
#include "cmd/secretsync/process_setup.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/flags.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/log.h"
#include "pkg/common/status_macros.h"
#include "pkg/csi/provider_server.h"
#include "pkg/kube/kube_config.h"
#include "pkg/kube/rest_kube_client.h"
#include "pkg/metrics/metrics.h"
#include "pkg/metrics/metrics_server.h"

namespace secretsync::cmd {
namespace {

constexpr LoggingDefaults kProviderLogging{.level = common::log::Level::kInfo,
                                           .format = common::log::Format::kJson};

const std::vector<common::FlagSpec>& csiProviderFlags() {
  static const auto* const kFlags = new std::vector<common::FlagSpec>(withLoggingFlags(
      {
          {.name = "socket",
           .help = absl::StrCat("unix socket to serve on (default ",
                                common::av(csi::kDefaultSocketPath), ")")},
          {.name = "vault-addr",
           .help = "Vault address when a SecretProviderClass sets no vaultAddress"},
          {.name = "vault-namespace",
           .help = "Vault namespace when a SecretProviderClass sets no vaultNamespace"},
          {.name = "vault-auth-mount",
           .help =
               "Kubernetes auth mount when a SecretProviderClass sets none (default kubernetes)"},
          {.name = "vault-ca-file",
           .help = "PEM CA bundle when a SecretProviderClass sets no vaultCACertPath"},
          {.name = "audience",
           .help = "serviceAccount.tokens audience when a SecretProviderClass sets none (default "
                   "vault)"},
          {.name = "kubeconfig",
           .help =
               "kubeconfig for SecretsStoreImport reads and the TokenRequest fallback (default: "
               "in-cluster when available; without either both are off)"},
          {.name = "context", .help = "kubeconfig context (default: its current-context)"},
          {.name = "no-token-request-fallback",
           .help = "never mint a pod's token with TokenRequest: every mount must carry the "
                   "driver's tokenRequests (drop serviceaccounts/token from the RBAC then)",
           .boolean = true},
          {.name = "metrics-addr",
           .help = "serve Prometheus metrics on HOST:PORT or :PORT at /metrics (default off)"},
          cacheTtlFlag("mounts"),
      },
      kProviderLogging));
  return *kFlags;
}

int usage(const absl::Status& status) {
  std::ostream& out = status.ok() ? std::cout : std::cerr;
  if (!status.ok()) {
    out << "secretsync csi-provider: " << status.message() << "\n\n";
  }
  out << "Usage: secretsync csi-provider [--socket PATH] [flags]\n\n"
      << "Serves the Secrets Store CSI Driver provider API (provider name \"secretsync\").\n\n"
      << common::flagsHelp(csiProviderFlags());
  return status.ok() ? 0 : 2;
}

absl::StatusOr<csi::ProviderOptions> optionsFromFlags(const common::ParsedFlags& flags) {
  csi::ProviderOptions options;
  options.default_vault_address = flags.get("vault-addr");
  options.default_vault_namespace = flags.get("vault-namespace");
  options.default_auth_mount = flags.get("vault-auth-mount", "kubernetes");
  options.default_ca_file = flags.get("vault-ca-file");
  options.default_audience = flags.get("audience", "vault");
  options.runtime_version = SECRETSYNC_VERSION;
  ASSIGN_OR_RETURN(options.fetcher.cache_ttl, cacheTtlFromFlags(flags, options.fetcher.cache_ttl));
  if (options.default_auth_mount.empty() || options.default_audience.empty()) {
    return absl::InvalidArgumentError("--vault-auth-mount and --audience must not be empty");
  }
  return options;
}

// The Kubernetes client behind SecretsStoreImport mounts and the TokenRequest fallback. A node
// daemon must not pick up somebody's ~/.kube/config by accident: without --kubeconfig only the
// in-cluster configuration is tried, and its absence turns both features off (nullptr).
absl::StatusOr<std::unique_ptr<kube::RestKubeClient>> kubeClientFromFlags(
    const common::ParsedFlags& flags, metrics::Metrics& metrics) {
  const bool named = flags.has("kubeconfig");
  absl::StatusOr<kube::KubeConfig> config =
      named ? kube::loadDefaultConfig(flags.get("kubeconfig"), flags.get("context"))
            : kube::inClusterConfig();
  if (!config.ok()) {
    if (named) {
      return absl::Status(config.status().code(),
                          absl::StrCat("--kubeconfig: ", config.status().message()));
    }
    common::log::info(
        "no in-cluster Kubernetes configuration: SecretsStoreImport mounts and the TokenRequest "
        "fallback are off (pass --kubeconfig to turn them on)",
        {{"reason", config.status()}});
    return std::unique_ptr<kube::RestKubeClient>();
  }
  kube::RestKubeClientOptions options;
  options.user_agent = absl::StrCat("secretsync-csi-provider/", SECRETSYNC_VERSION);
  options.observer = [&metrics](const kube::KubeRequestInfo& info) {
    metrics.recordKubeRequest(info.verb, info.resource, info.code);
  };
  // A mount waits on these calls; the driver's own deadline is short.
  options.request_timeout = std::chrono::seconds(10);
  options.max_retries = 2;
  return kube::RestKubeClient::create(*std::move(config), nullptr, options);
}

}  // namespace

int runCsiProvider(const std::vector<std::string>& args) {
  auto flags = common::parseFlags(args, csiProviderFlags());
  if (!flags.ok()) {
    return usage(flags.status());
  }
  if (flags->has("help")) {
    return usage(absl::OkStatus());
  }
  auto options = optionsFromFlags(*flags);
  if (!options.ok()) {
    return usage(options.status());
  }
  if (absl::Status logging = configureLogging(*flags, kProviderLogging); !logging.ok()) {
    return usage(logging);
  }
  // Before any thread starts: a stop signal must not kill the process mid-mount.
  const StopSignals stop_signals;
  common::http::CurlGlobal curl;
  auto metrics = std::make_shared<metrics::Metrics>(
      std::make_shared<prometheus::Registry>(),
      metrics::Metrics::BuildInfo{SECRETSYNC_VERSION, SECRETSYNC_GIT_COMMIT});
  options->on_mount = [&m = *metrics](std::string_view code, std::chrono::nanoseconds duration) {
    m.observeCsiMount(code, duration);
  };
  options->vault_observer = [&m = *metrics](const store::vault::VaultAttempt& attempt) {
    m.observeVaultRequest(attempt.method, attempt.path_template, attempt.status, attempt.duration);
  };
  auto kube_client = kubeClientFromFlags(*flags, *metrics);
  if (!kube_client.ok()) {
    common::log::error("csi provider cannot build its Kubernetes client",
                       {{"error", kube_client.status()}});
    return 1;
  }
  if (*kube_client != nullptr) {
    options->kube_client = kube_client->get();
    if (!flags->has("no-token-request-fallback")) {
      options->token_request = csi::makeTokenRequestHook(**kube_client);
    }
  }
  csi::Provider provider(common::realClock(), *std::move(options));
  metrics->addCounterSource("secretsync_store_reads_total",
                            "Secret reads sent to the store by the shared cache.",
                            [&provider] { return provider.stats().fetcher.store_reads; });
  metrics->addCounterSource(
      "secretsync_store_reads_saved_total",
      "Secret reads answered by the cache or by joining an identical read in flight.",
      [&provider] { return provider.stats().fetcher.readsSaved(); });
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (flags->has("metrics-addr")) {
    auto started = metrics::MetricsServer::start(flags->get("metrics-addr"), metrics);
    if (!started.ok()) {
      common::log::error("csi provider cannot serve metrics", {{"error", started.status()}});
      return 1;
    }
    metrics_server = *std::move(started);
    common::log::info("serving metrics", {{"port", metrics_server->port()}});
  }
  auto server = csi::ProviderServer::start(flags->get("socket", csi::kDefaultSocketPath), provider);
  if (!server.ok()) {
    common::log::error("csi provider cannot start", {{"error", server.status()}});
    return 1;
  }
  common::log::info("csi provider shutting down", {{"signal", stop_signals.wait()}});
  (*server)->shutdown();
  (*server)->wait();
  // Scrapes read the provider: stop them first.
  metrics_server.reset();
  const csi::ProviderStats stats = provider.stats();
  common::log::info("csi provider stats", {{"mounts", stats.mounts},
                                           {"mount_errors", stats.mount_errors},
                                           {"store_reads", stats.fetcher.store_reads},
                                           {"store_reads_saved", stats.fetcher.readsSaved()}});
  return 0;
}

}  // namespace secretsync::cmd
