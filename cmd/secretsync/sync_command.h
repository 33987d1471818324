#pragma once

#include <string>
#include <vector>

namespace secretsync::cmd {

// `secretsync sync -f PATH... --output-dir DIR [--once] [--interval D]`: reads ExternalSecrets,
// (Cluster)SecretStores and the Secrets holding their credentials from manifest files, and writes
// each ExternalSecret's target as files DIR/<namespace>/<target name>/<key> (see
// sync::FileSync). With --once: one pass, each failure printed as
// "<namespace>/<name>: <field>: <reason>", then a summary line. Without: keeps each target fresh
// per its refreshInterval (jittered; 0 = once), retrying failures with backoff, until SIGINT or
// SIGTERM.
// @return the process exit code: 0 when everything synced (or a clean stop), 1 when anything
// failed in --once mode, 2 on bad flags.
int runSync(const std::vector<std::string>& args);

}  // namespace secretsync::cmd
