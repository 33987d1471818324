// secretsync-soak: the fault soak of issue 6. Runs the real `secretsync controller` (two replicas,
// leader election) and `secretsync csi-provider` against the in-process Kubernetes and Vault
// doubles under a random, reproducible fault schedule, and checks the invariants. Exit code 0 when
// every invariant held, 1 when one broke, 2 for bad flags or a setup failure.
//
//   secretsync-soak --duration 1h --seed $RANDOM            # by hand
//   secretsync-soak --duration 60s --seed 20261122          # the ctest (CI)

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <stdlib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/duration.h"
#include "pkg/common/flags.h"
#include "test/soak/soak_runner.h"

namespace {

const std::vector<secretsync::common::FlagSpec>& soakFlags() {
  static const auto* const kFlags = new std::vector<secretsync::common::FlagSpec>{
      {.name = "duration", .help = "how long faults and changes go on (default 60s; e.g. 1h)"},
      {.name = "seed", .help = "seed of the random schedule (default: a random one, printed)"},
      {.name = "secretsync", .help = "the secretsync binary (default: the one built with this)"},
      {.name = "summary-json", .help = "also write the summary to this file"},
      {.name = "workdir",
       .help = "directory for logs, sockets and mounts (default: a new /tmp/secretsync-soak-*, "
               "removed after a passing run)"},
      {.name = "external-secrets", .help = "ExternalSecrets kept alive (default 12)"},
      {.name = "help", .help = "show this help", .boolean = true, .short_name = "h"},
  };
  return *kFlags;
}

int usage(const std::string& error) {
  std::fprintf(stderr, "%s%sUsage: secretsync-soak [flags]\n\n%s", error.c_str(),
               error.empty() ? "" : "\n\n", secretsync::common::flagsHelp(soakFlags()).c_str());
  return error.empty() ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  using secretsync::common::av;
  auto flags =
      secretsync::common::parseFlags(std::vector<std::string>(argv + 1, argv + argc), soakFlags());
  if (!flags.ok()) return usage(std::string(flags.status().message()));
  if (flags->has("help")) return usage("");

  secretsync::soak::SoakOptions options;
  auto duration = secretsync::common::parseGoDuration(flags->get("duration", "60s"));
  if (!duration.ok() || *duration < absl::Seconds(30)) {
    return usage("--duration: want a duration of at least 30s, such as 60s or 1h");
  }
  options.duration = absl::ToChronoMilliseconds(*duration);
  if (flags->has("seed")) {
    if (!absl::SimpleAtoi(av(flags->get("seed")), &options.seed)) {
      return usage("--seed: want a non-negative integer");
    }
  } else {
    options.seed = std::random_device()();
  }
  if (flags->has("external-secrets") &&
      (!absl::SimpleAtoi(av(flags->get("external-secrets")), &options.external_secrets) ||
       options.external_secrets < 2 || options.external_secrets > 1000)) {
    return usage("--external-secrets: want an integer from 2 to 1000");
  }
  options.secretsync = flags->get("secretsync", SECRETSYNC_BINARY);
  bool own_workdir = false;
  if (flags->has("workdir")) {
    options.workdir = flags->get("workdir");
    std::error_code ec;
    std::filesystem::create_directories(options.workdir, ec);
    std::filesystem::permissions(options.workdir, std::filesystem::perms::owner_all, ec);
    if (ec) return usage(absl::StrCat("--workdir: ", ec.message()));
  } else {
    char dir_template[] = "/tmp/secretsync-soak-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) return usage("cannot create a temp directory");
    options.workdir = dir_template;
    own_workdir = true;
  }
  std::printf("soak: seed %llu (rerun with --seed %llu), workdir %s\n",
              static_cast<unsigned long long>(options.seed),
              static_cast<unsigned long long>(options.seed), options.workdir.c_str());
  std::fflush(stdout);

  auto summary = secretsync::soak::runSoak(options);
  if (!summary.ok()) {
    std::fprintf(stderr, "soak: setup failed: %s\n",
                 std::string(summary.status().message()).c_str());
    return 2;
  }
  const std::string text = summary->dump(2);
  std::printf("soak summary:\n%s\n", text.c_str());
  if (flags->has("summary-json")) {
    std::ofstream(flags->get("summary-json")) << text << "\n";
  }
  const bool pass = (*summary)["verdict"] == "pass";
  std::printf("soak: %s (seed %llu)\n", pass ? "PASS" : "FAIL",
              static_cast<unsigned long long>(options.seed));
  if (pass && own_workdir) {
    std::error_code ec;
    std::filesystem::remove_all(options.workdir, ec);
  }
  return pass ? 0 : 1;
}
