#pragma once

#include <string>
#include <vector>

namespace secretsync::cmd {

// `secretsync controller`: watches ExternalSecrets and (Cluster)SecretStores and keeps their
// Secrets in step with the store. Runs until SIGTERM or SIGINT. @return the exit code.
int runController(const std::vector<std::string>& args);

}  // namespace secretsync::cmd
