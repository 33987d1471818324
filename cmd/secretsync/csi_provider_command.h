#pragma once

#include <string>
#include <vector>

namespace secretsync::cmd {

// `secretsync csi-provider`: serves the Secrets Store CSI Driver's v1alpha1.CSIDriverProvider API
// on a unix socket (provider name `secretsync`) until SIGTERM or SIGINT.
// @return the process exit code: 0 after a clean shutdown, 1 when serving failed, 2 on bad flags.
int runCsiProvider(const std::vector<std::string>& args);

}  // namespace secretsync::cmd
