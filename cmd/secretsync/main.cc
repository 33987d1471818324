// secretsync: the process entry point. Wiring only: parse the subcommand, hand over to it.

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

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

int dispatch(int argc, char** argv) {
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
