#pragma once

#include <string>
#include <vector>

namespace secretsync::cmd {

// `secretsync check`: logs in to a Vault-compatible store and reads the given paths, printing for
// each what was found (version, key names) and never a value. An operator's connectivity and
// permission check, and the demo until the sync engine lands.
// @return the process exit code: 0 when every read succeeded, 1 when one failed, 2 on bad flags.
int runCheck(const std::vector<std::string>& args);

}  // namespace secretsync::cmd
