#pragma once

#include <string>
#include <vector>

namespace secretsync::cmd {

// `secretsync validate -f PATH...`: offline check of ESO manifests for CI
// (sync::validateManifests), one line per finding, "<file>:<doc>: <Kind> <ns>/<name>: <field>:
// <message>", then a summary.
// @return the process exit code: 0 when there is no error (warnings allowed), 1 otherwise, 2 on
// bad flags.
int runValidate(const std::vector<std::string>& args);

}  // namespace secretsync::cmd
