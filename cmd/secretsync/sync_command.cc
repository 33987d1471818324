#include "cmd/secretsync/sync_command.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cmd/secretsync/manifest_flags.h"
#include "cmd/secretsync/process_setup.h"
#include "pkg/common/backoff.h"
#include "pkg/common/duration.h"
#include "pkg/common/flags.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/log.h"
#include "pkg/store/fetcher.h"
#include "pkg/sync/file_sync.h"
#include "pkg/sync/manifest_set.h"
#include "pkg/sync/secret_data_builder.h"
#include "pkg/sync/store_resolver.h"
#include "pkg/sync/work_queue.h"

namespace secretsync::cmd {
namespace {

constexpr LoggingDefaults kSyncLogging{.level = common::log::Level::kWarn,
                                       .format = common::log::Format::kText};

const std::vector<common::FlagSpec>& syncFlags() {
  static const auto* const kFlags = [] {
    auto* flags = new std::vector<common::FlagSpec>(manifestFlags());
    flags->insert(
        flags->end(),
        {
            {.name = "output-dir", .help = "where targets go: DIR/<namespace>/<target name>/<key>"},
            {.name = "once",
             .help = "sync once and exit; non-zero if anything failed",
             .boolean = true},
            {.name = "interval",
             .help = "refresh every ExternalSecret this often (Go duration) instead of its "
                     "refreshInterval"},
            {.name = "service-account-token-file",
             .help = "JWT for kubernetes auth without serviceAccountRef/secretRef (default the "
                     "pod's service-account token)"},
        });
    *flags = withLoggingFlags(std::move(*flags), kSyncLogging);
    return flags;
  }();
  return *kFlags;
}

int usage(const absl::Status& error) {
  return printUsage(
      "sync", error,
      "Usage: secretsync sync -f PATH... --output-dir DIR [--once] [--interval D]\n\n"
      "Writes each ExternalSecret's target Secret as files, from Vault, without a cluster.\n"
      "Vault credentials: the Secrets the stores name (tokenSecretRef, appRole, secretRef), from\n"
      "the same files; token auth falls back to $VAULT_TOKEN (or $BAO_TOKEN) when the Secret is\n"
      "not in the files; kubernetes auth without refs uses --service-account-token-file.\n",
      syncFlags());
}

std::optional<common::SecretString> envToken() {
  for (const char* name : {"BAO_TOKEN", "VAULT_TOKEN"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      return common::SecretString(value);
    }
  }
  return std::nullopt;
}

struct Tally {
  int written = 0;
  int unchanged = 0;
  int skipped = 0;
  int failed = 0;
};

// Prints one result: key names and paths, never values. Quiet about unchanged targets unless
// `verbose` (the loop would otherwise print every refresh).
void report(const sync::FileSyncResult& r, bool verbose, Tally& tally) {
  if (!r.ok()) {
    ++tally.failed;
    for (const std::string& line : r.failures) {
      std::cerr << line << "\n";
    }
    return;
  }
  if (r.skipped || r.removed) {
    ++tally.skipped;
    std::cout << r.object << ": " << r.note << "\n";
  } else if (r.changed) {
    ++tally.written;
    std::cout << r.object << ": wrote " << r.target_dir << " (" << r.keys.size()
              << " keys: " << absl::StrJoin(r.keys, ", ") << ")\n";
  } else {
    ++tally.unchanged;
    if (verbose) {
      std::cout << r.object << ": unchanged " << r.target_dir << "\n";
    }
  }
  std::cout.flush();
}

std::chrono::nanoseconds toChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

}  // namespace

int runSync(const std::vector<std::string>& args) {
  auto flags = common::parseFlags(args, syncFlags());
  if (!flags.ok()) {
    return usage(flags.status());
  }
  if (flags->has("help")) {
    return usage(absl::OkStatus());
  }
  if (!flags->has("output-dir") || flags->get("output-dir").empty()) {
    return usage(absl::InvalidArgumentError("--output-dir: required"));
  }
  std::optional<absl::Duration> interval_override;
  if (flags->has("interval")) {
    auto interval = common::parseGoDuration(flags->get("interval"));
    if (!interval.ok() || *interval <= absl::ZeroDuration()) {
      return usage(absl::InvalidArgumentError("--interval: must be a positive Go duration (30s)"));
    }
    interval_override = *interval;
  }
  if (absl::Status logging = configureLogging(*flags, kSyncLogging); !logging.ok()) {
    return usage(logging);
  }
  // Before any thread starts: stop signals are taken between syncs, so a write always finishes.
  const StopSignals stop_signals;

  common::http::CurlGlobal curl;
  auto loaded = manifestsFromFlags(*flags);
  if (!loaded.ok()) {
    return usage(loaded.status());
  }
  const sync::ManifestSet manifests = *std::move(loaded);
  int load_errors = 0;
  for (const sync::ManifestProblem& p : manifests.problems) {
    const std::string line =
        p.location.toString() + ": " + (p.object.empty() ? "" : p.object + ": ") + p.message;
    if (p.error) {
      ++load_errors;
      std::cerr << line << "\n";
    } else {
      std::cout << "note: " << line << "\n";
    }
  }

  sync::ManifestCredentials credentials(manifests);
  sync::StoreResolverOptions resolver_options;
  resolver_options.own_service_account_token_file =
      flags->get("service-account-token-file", resolver_options.own_service_account_token_file);
  resolver_options.fallback_token = envToken();
  sync::StoreResolver resolver(credentials, common::realClock(), std::move(resolver_options));
  sync::ManifestStoreSource stores(manifests, resolver);
  store::Fetcher fetcher(common::realClock());
  sync::SecretDataBuilder builder(stores, fetcher);
  sync::FileSync file_sync(manifests, builder, flags->get("output-dir"));
  const size_t count = manifests.external_secrets.size();

  if (flags->has("once")) {
    Tally tally;
    for (size_t i = 0; i < count; ++i) {
      if (stop_signals.waitFor(std::chrono::nanoseconds(0))) {
        std::cerr << "secretsync sync: stopped by a signal\n";
        return 1;
      }
      report(file_sync.syncOne(i), /*verbose=*/true, tally);
    }
    std::cout << "sync: " << count << " ExternalSecrets: " << tally.written << " written, "
              << tally.unchanged << " unchanged, " << tally.skipped << " skipped, " << tally.failed
              << " failed" << (load_errors > 0 ? "; manifest errors: " : "")
              << (load_errors > 0 ? std::to_string(load_errors) : "") << "\n";
    return tally.failed == 0 && load_errors == 0 ? 0 : 1;
  }

  // The loop: each ExternalSecret has its next due time; refreshes are jittered so targets
  // with one interval spread out, failures retried with backoff unless the spec decides them.
  struct Slot {
    common::MonotonicTime due;
    common::Backoff backoff{{.initial = std::chrono::seconds(1),
                             .max = std::chrono::minutes(5),
                             .multiplier = 2.0,
                             .jitter = 0.2}};
    bool finished = false;
  };
  common::Clock& clock = common::realClock();
  std::vector<Slot> slots(count);
  for (Slot& slot : slots) {
    slot.due = clock.monotonicNow();
  }
  while (true) {
    Tally tally;
    for (size_t i = 0; i < count; ++i) {
      Slot& slot = slots[i];
      if (slot.finished || slot.due > clock.monotonicNow()) {
        continue;
      }
      const sync::FileSyncResult result = file_sync.syncOne(i);
      report(result, /*verbose=*/false, tally);
      const api::ExternalSecret& es = manifests.external_secrets[i].object;
      if (!result.ok()) {
        if (result.retryable) {
          slot.due = clock.monotonicNow() + slot.backoff.next();
        } else {
          slot.finished = true;  // the files do not change while we run: nothing to retry
        }
        continue;
      }
      slot.backoff.reset();
      const absl::Duration interval = interval_override.value_or(es.spec.refresh_interval);
      if (interval <= absl::ZeroDuration() ||
          es.spec.refresh_policy != api::RefreshPolicy::kPeriodic) {
        slot.finished = true;  // refreshInterval 0, CreatedOnce, OnChange: synced once
        continue;
      }
      slot.due = clock.monotonicNow() + sync::jitteredRefresh(toChrono(interval), result.object);
    }
    std::optional<common::MonotonicTime> next;
    for (const Slot& slot : slots) {
      if (!slot.finished && (!next.has_value() || slot.due < *next)) {
        next = slot.due;
      }
    }
    // Nothing left to refresh: wait for the stop signal (a sidecar that exits is restarted).
    const auto timeout =
        next.has_value()
            ? std::chrono::duration_cast<std::chrono::nanoseconds>(*next - clock.monotonicNow())
            : std::chrono::nanoseconds(std::chrono::hours(24));
    if (stop_signals.waitFor(timeout)) {
      std::cout << "sync: stopping\n";
      return 0;
    }
  }
}

}  // namespace secretsync::cmd
