#pragma once

// The Vault side the CSI provider tests start from, in one place.

#include <chrono>

#include "absl/status/status.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::csi::testing {

// Policy "app-reader" (read secret/data/app/*) and, on auth mount "kubernetes" configured with
// `auth`, the role "app" binding the service account prod/app for audience "vault" to it (token
// TTL 1 h, max 2 h).
inline absl::Status addAppReaderRole(test::VaultDouble& vault,
                                     test::vault::KubernetesAuthConfig auth) {
  vault.putPolicy("app-reader", {{"secret/data/app/*", {test::vault::Capability::kRead}}});
  vault.enableKubernetesAuth("kubernetes", std::move(auth));
  return vault.addKubernetesRole("kubernetes", {.name = "app",
                                                .bound_service_account_names = {"app"},
                                                .bound_service_account_namespaces = {"prod"},
                                                .audience = "vault",
                                                .policies = {"app-reader"},
                                                .token_ttl = std::chrono::seconds(3600),
                                                .token_max_ttl = std::chrono::seconds(7200)});
}

}  // namespace secretsync::csi::testing
