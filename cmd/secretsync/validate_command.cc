#include "cmd/secretsync/validate_command.h"

#include <iostream>

#include "cmd/secretsync/manifest_flags.h"
#include "cmd/secretsync/process_setup.h"
#include "pkg/common/flags.h"
#include "pkg/sync/manifest_set.h"

namespace secretsync::cmd {
namespace {

const std::vector<common::FlagSpec>& validateFlags() {
  static const auto* const kFlags = [] {
    auto* flags = new std::vector<common::FlagSpec>(manifestFlags());
    flags->push_back(helpFlag());
    return flags;
  }();
  return *kFlags;
}

int usage(const absl::Status& error) {
  return printUsage("validate", error,
                    "Usage: secretsync validate -f PATH...\n\n"
                    "Checks ExternalSecret, SecretStore and ClusterSecretStore manifests offline: "
                    "schema,\nESO's webhook rules, fields secretsync does not support, store "
                    "references.\nExit code 0 when there is no error (warnings allowed), 1 "
                    "otherwise.\n",
                    validateFlags());
}

}  // namespace

int runValidate(const std::vector<std::string>& args) {
  auto flags = common::parseFlags(args, validateFlags());
  if (!flags.ok()) {
    return usage(flags.status());
  }
  if (flags->has("help")) {
    return usage(absl::OkStatus());
  }
  auto manifests = manifestsFromFlags(*flags);
  if (!manifests.ok()) {
    return usage(manifests.status());
  }
  int errors = 0;
  int warnings = 0;
  for (const sync::ValidationFinding& finding : sync::validateManifests(*manifests)) {
    if (finding.severity == sync::ValidationFinding::Severity::kError) {
      ++errors;
    } else {
      ++warnings;
    }
    std::cout << finding.toString() << "\n";
  }
  std::cout << "validate: " << manifests->external_secrets.size() << " ExternalSecrets, "
            << manifests->stores.size() << " stores: " << errors << " errors, " << warnings
            << " warnings\n";
  return errors == 0 ? 0 : 1;
}

}  // namespace secretsync::cmd
