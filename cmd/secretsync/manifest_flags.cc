#include "cmd/secretsync/manifest_flags.h"

#include <iostream>

namespace secretsync::cmd {

std::vector<common::FlagSpec> manifestFlags() {
  return {
      {.name = "filename",
       .help = "manifest file or directory (*.yaml, *.yml, *.json); repeatable",
       .repeated = true,
       .short_name = "f"},
      {.name = "default-namespace",
       .help = "namespace of manifests that name none (default \"default\")"},
  };
}

absl::StatusOr<sync::ManifestSet> manifestsFromFlags(const common::ParsedFlags& flags) {
  if (!flags.has("filename")) {
    return absl::InvalidArgumentError("-f: at least one manifest file or directory");
  }
  sync::ManifestLoadOptions options;
  options.default_namespace = flags.get("default-namespace", "default");
  return sync::loadManifests(flags.all("filename"), options);
}

int printUsage(std::string_view command, const absl::Status& error, std::string_view text,
               const std::vector<common::FlagSpec>& flags) {
  std::ostream& out = error.ok() ? std::cout : std::cerr;
  if (!error.ok()) {
    out << "secretsync " << command << ": " << error.message() << "\n\n";
  }
  out << text << "\n" << common::flagsHelp(flags);
  return error.ok() ? 0 : 2;
}

}  // namespace secretsync::cmd
