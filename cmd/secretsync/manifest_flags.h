#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "pkg/common/flags.h"
#include "pkg/sync/manifest_set.h"

namespace secretsync::cmd {

// The flags `sync` and `validate` share: -f/--filename (repeatable) and --default-namespace.
std::vector<common::FlagSpec> manifestFlags();

// The manifests named by -f, with --default-namespace applied.
// @return kInvalidArgument when no -f was given.
absl::StatusOr<sync::ManifestSet> manifestsFromFlags(const common::ParsedFlags& flags);

// Prints a subcommand's help (to stdout when `error` is OK, else the error and the help to
// stderr). @return the exit code: 0 for --help, 2 for a usage error.
int printUsage(std::string_view command, const absl::Status& error, std::string_view text,
               const std::vector<common::FlagSpec>& flags);

}  // namespace secretsync::cmd
