// secretsync: the process entry point. Wiring only: parse the subcommand, hand over to it.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <sys/prctl.h>
#include <sys/resource.h>

#include "build_info.h"
#include "cmd/secretsync/check_command.h"
#include "cmd/secretsync/controller_command.h"
#include "cmd/secretsync/csi_provider_command.h"
#include "cmd/secretsync/sync_command.h"
#include "cmd/secretsync/validate_command.h"
#include "pkg/common/flags.h"

namespace secretsync {
namespace {

struct Subcommand {
  std::string_view name;
  std::string_view summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

int runVersion(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::cerr << "secretsync version takes no arguments\n";
    return 2;
  }
  std::cout << "secretsync " << SECRETSYNC_VERSION << " (commit " << SECRETSYNC_GIT_COMMIT << ")\n";
  return 0;
}

const std::vector<Subcommand>& subcommands() {
  static const auto* const kSubcommands = new std::vector<Subcommand>{
      {"check", "read secrets from a store and report versions and key names, never values",
       cmd::runCheck},
      {"controller", "keep the Secrets of ExternalSecrets in step with their stores (in a cluster)",
       cmd::runController},
      {"csi-provider", "serve the Secrets Store CSI Driver provider API on a unix socket",
       cmd::runCsiProvider},
      {"sync", "write ExternalSecrets' targets as files from manifests, without a cluster",
       cmd::runSync},
      {"validate", "check ExternalSecret and SecretStore manifests offline (for CI)",
       cmd::runValidate},
      {"version", "print the version and the git commit it was built from", runVersion},
  };
  return *kSubcommands;
}

void printUsage(std::ostream& out) {
  out << "secretsync keeps secrets from Vault-compatible stores in step with Kubernetes.\n\n"
         "Usage: secretsync <command> [flags]\n\nCommands:\n";
  for (const Subcommand& command : subcommands()) {
    out << "  " << command.name << std::string(14 - command.name.size(), ' ') << command.summary
        << "\n";
  }
  out << "\nRun 'secretsync <command> --help' for a command's flags.\n";
}

// The environment variable that keeps core dumps as the environment allows them.
constexpr char kAllowCoreDumpsEnv[] = "SECRETSYNC_ALLOW_CORE_DUMPS";

// A core dump is a copy of the process's memory: Vault tokens, service-account JWTs and secret
// values would land in a file on the node (or in a crash collector) readable by whoever handles
// crashes there. So every subcommand starts with the core size limit at 0 (soft and hard, so
// nothing later in the process can raise it again) and the process marked not dumpable, which
// also stops processes of the same user from ptrace-attaching or reading /proc/<pid>/mem.
// SECRETSYNC_ALLOW_CORE_DUMPS=1 leaves both as inherited, for debugging a crash; it says so on
// stderr each start so it is not left on by accident (docs/security.md).
void disableCoreDumps() {
  const char* allow = std::getenv(kAllowCoreDumpsEnv);
  if (allow != nullptr && std::string_view(allow) == "1") {
    std::cerr << "secretsync: " << kAllowCoreDumpsEnv
              << "=1: core dumps are allowed; a crash may write secrets to disk\n";
    return;
  }
  const rlimit no_core{.rlim_cur = 0, .rlim_max = 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    // Lowering a limit is always permitted, so this means a sandbox refused the call: say so and
    // go on, as the dumpable flag below still keeps the kernel from writing a core.
    std::cerr << "secretsync: warning: could not set RLIMIT_CORE to 0: " << std::strerror(errno)
              << "\n";
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::cerr << "secretsync: warning: could not mark the process not dumpable: "
              << std::strerror(errno) << "\n";
  }
}

int dispatch(int argc, char** argv) {
  disableCoreDumps();
  if (argc < 2) {
    printUsage(std::cerr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    printUsage(std::cout);
    return 0;
  }
  if (name == "--version") {
    return runVersion({});
  }
  for (const Subcommand& command : subcommands()) {
    if (command.name == name) {
      return command.run(std::vector<std::string>(argv + 2, argv + argc));
    }
  }
  std::cerr << "secretsync: unknown command \"" << name << "\"\n\n";
  printUsage(std::cerr);
  return 2;
}

}  // namespace
}  // namespace secretsync

int main(int argc, char** argv) { return secretsync::dispatch(argc, argv); }
