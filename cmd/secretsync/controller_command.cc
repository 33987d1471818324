#include "cmd/secretsync/controller_command.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <random>

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "build_info.h"
#include "cmd/secretsync/process_setup.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/flags.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/log.h"
#include "pkg/kube/event_recorder.h"
#include "pkg/kube/kube_config.h"
#include "pkg/kube/leader_elector.h"
#include "pkg/kube/rest_kube_client.h"
#include "pkg/metrics/health_server.h"
#include "pkg/metrics/metrics.h"
#include "pkg/metrics/metrics_server.h"
#include "pkg/sync/controller.h"

namespace secretsync::cmd {
namespace {

constexpr LoggingDefaults kControllerLogging{.level = common::log::Level::kInfo,
                                             .format = common::log::Format::kJson};

const std::vector<common::FlagSpec>& controllerFlags() {
  static const auto* const kFlags = new std::vector<common::FlagSpec>(withLoggingFlags(
      {
          {.name = "kubeconfig",
           .help = "kubeconfig file (default: $KUBECONFIG, in-cluster, then ~/.kube/config)"},
          {.name = "context", .help = "kubeconfig context (default: its current-context)"},
          {.name = "namespace",
           .help = "watch ExternalSecrets and SecretStores of this namespace only"},
          {.name = "controller-class",
           .help = "handle only stores whose spec.controller is this (default \"\")"},
          {.name = "concurrent", .help = "ExternalSecrets reconciled at once (default 1)"},
          {.name = "metrics-addr",
           .help = "serve /metrics on HOST:PORT or :PORT (default :8080; 0 = off)"},
          {.name = "aggregate-object-metrics",
           .help = "no per-ExternalSecret series: sums per namespace (for very many objects)",
           .boolean = true},
          {.name = "health-addr", .help = "serve /healthz and /readyz (default :8081; 0 = off)"},
          {.name = "leader-elect",
           .help = "run as one of several replicas: only the Lease holder writes",
           .boolean = true},
          {.name = "leader-election-namespace",
           .help = "namespace of the Lease (default: the pod's namespace)"},
          {.name = "leader-election-id",
           .help = "name of the Lease (default secretsync-controller)"},
          cacheTtlFlag("ExternalSecrets"),
      },
      kControllerLogging));
  return *kFlags;
}

int usage(const absl::Status& status) {
  std::ostream& out = status.ok() ? std::cout : std::cerr;
  if (!status.ok()) out << "secretsync controller: " << status.message() << "\n\n";
  out << "Usage: secretsync controller [flags]\n\n"
      << "Keeps the Secrets of External Secrets Operator's ExternalSecrets (external-secrets.io)\n"
      << "in step with Vault-compatible stores.\n\n"
      << common::flagsHelp(controllerFlags());
  return status.ok() ? 0 : 2;
}

// "<hostname>_<random>", as controller-runtime names Lease holders.
std::string holderIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device random;
  return absl::StrCat(
      host[0] != '\0' ? host : "secretsync", "_",
      absl::Hex(static_cast<uint64_t>(random()) << 32 | random(), absl::kZeroPad16));
}

}  // namespace

int runController(const std::vector<std::string>& args) {
  auto flags = common::parseFlags(args, controllerFlags());
  if (!flags.ok()) return usage(flags.status());
  if (flags->has("help")) return usage(absl::OkStatus());
  int concurrent = 1;
  if (flags->has("concurrent") &&
      (!absl::SimpleAtoi(flags->get("concurrent"), &concurrent) || concurrent < 1)) {
    return usage(absl::InvalidArgumentError("--concurrent must be a positive integer"));
  }
  auto ttl = cacheTtlFromFlags(*flags, std::chrono::seconds(5));
  if (!ttl.ok()) return usage(ttl.status());
  if (absl::Status logging = configureLogging(*flags, kControllerLogging); !logging.ok()) {
    return usage(logging);
  }
  const StopSignals stop_signals;  // before any thread starts
  common::http::CurlGlobal curl;

  auto config = kube::loadDefaultConfig(flags->get("kubeconfig"), flags->get("context"));
  if (!config.ok()) {
    common::log::error("no Kubernetes configuration", {{"error", config.status()}});
    return 1;
  }
  auto metrics = std::make_shared<metrics::Metrics>(
      std::make_shared<prometheus::Registry>(),
      metrics::Metrics::BuildInfo{SECRETSYNC_VERSION, SECRETSYNC_GIT_COMMIT},
      metrics::MetricsOptions{.per_object_labels = !flags->has("aggregate-object-metrics")});
  kube::RestKubeClientOptions client_options;
  client_options.user_agent = absl::StrCat("secretsync/", SECRETSYNC_VERSION);
  client_options.observer = [&m = *metrics](const kube::KubeRequestInfo& request) {
    m.recordKubeRequest(request.verb, request.resource, request.code);
  };
  auto client = kube::RestKubeClient::create(*config, nullptr, client_options);
  if (!client.ok()) {
    common::log::error("cannot build the Kubernetes client", {{"error", client.status()}});
    return 1;
  }
  common::Clock& clock = common::realClock();

  kube::EventRecorderOptions event_options;
  event_options.component = "secretsync";
  event_options.reporting_instance = holderIdentity();
  auto events = kube::EventRecorder::create(**client, clock, event_options);
  if (!events.ok()) {
    common::log::error("cannot start the event recorder", {{"error", events.status()}});
    return 1;
  }
  auto record = [&recorder = **events](const nlohmann::json& object, std::string_view type,
                                       std::string_view reason, std::string_view message) {
    recorder.record(kube::objectReferenceOf(object),
                    type == "Warning" ? kube::EventType::kWarning : kube::EventType::kNormal,
                    reason, message);
  };

  sync::ControllerOptions options;
  options.namespace_name = flags->get("namespace");
  options.context.controller_class = flags->get("controller-class");
  options.concurrent = concurrent;
  options.fetcher.cache_ttl = *ttl;
  options.context.metrics = metrics.get();
  options.context.record_event = record;
  options.resolver.transport.observer = [&m = *metrics](const store::vault::VaultAttempt& a) {
    m.observeVaultRequest(a.method, a.path_template, a.status, a.duration);
  };
  auto controller = sync::Controller::create(**client, clock, options);
  if (!controller.ok()) return usage(controller.status());

  std::unique_ptr<metrics::HealthServer> health;
  if (const std::string address = flags->get("health-addr", ":8081"); address != "0") {
    auto started = metrics::HealthServer::start(
        address, [] { return absl::OkStatus(); },
        [&controller = **controller] { return controller.ready(); });
    if (!started.ok()) {
      common::log::error("cannot serve health probes", {{"error", started.status()}});
      return 1;
    }
    health = *std::move(started);
    common::log::info("serving health probes", {{"port", health->port()}});
  }
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (const std::string address = flags->get("metrics-addr", ":8080"); address != "0") {
    auto started = metrics::MetricsServer::start(address, metrics);
    if (!started.ok()) {
      common::log::error("cannot serve metrics", {{"error", started.status()}});
      return 1;
    }
    metrics_server = *std::move(started);
    common::log::info("serving metrics", {{"port", metrics_server->port()}});
  }

  (*controller)->start();
  std::atomic<bool> stopping{false};
  std::unique_ptr<kube::LeaderElector> elector;
  if (flags->has("leader-elect")) {
    kube::LeaderElectorOptions elector_options;
    elector_options.namespace_name =
        flags->get("leader-election-namespace", config->namespace_name);
    elector_options.name = flags->get("leader-election-id", "secretsync-controller");
    elector_options.identity = event_options.reporting_instance;
    elector_options.release_on_stop = true;
    elector_options.on_started_leading = [&controller = **controller] {
      common::log::info("leading: starting workers");
      controller.startWorkers();
    };
    // client-go's convention: a replica that lost the lease exits and is restarted clean, so two
    // replicas never write at once.
    elector_options.on_stopped_leading = [&stopping] {
      if (stopping) return;  // our own shutdown released the lease
      common::log::error("lost the leader lease; exiting so a fresh process stands by");
      _exit(1);
    };
    if (elector_options.namespace_name.empty()) {
      return usage(
          absl::InvalidArgumentError("--leader-election-namespace is needed outside a cluster"));
    }
    auto created = kube::LeaderElector::create(**client, clock, elector_options);
    if (!created.ok()) return usage(created.status());
    elector = *std::move(created);
    elector->start();
  } else {
    (*controller)->startWorkers();
  }
  common::log::info(
      "controller started",
      {{"namespace", options.namespace_name.empty() ? "(all)" : options.namespace_name},
       {"concurrent", concurrent},
       {"identity", event_options.reporting_instance},
       {"leader_elect", flags->has("leader-elect")}});

  common::log::info("controller shutting down", {{"signal", stop_signals.wait()}});
  stopping = true;
  (*controller)->stop();
  if (elector) elector->stop();
  metrics_server.reset();
  health.reset();
  return 0;
}

}  // namespace secretsync::cmd
