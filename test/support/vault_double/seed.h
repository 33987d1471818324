#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::test {

// Loads a seed document into a running VaultDouble. Every key is optional. Durations are
// seconds (number) or Go duration strings ("1h", "768h"). `namespace` defaults to the root.
//
//   {
//     "settings": {"mount_type_field": true, "multierror": true, "invalid_token_message": true},
//     "sealed": false,
//     "namespaces": ["team-a"],
//     "mounts": [{"path": "team/kv", "type": "kv", "version": 2, "namespace": ""}],
//                                  // type: "kv" (+version, default 2), "kv-v2" or "kv-v1"
//     "kv_config": [{"mount": "secret", "max_versions": 5, "cas_required": false,
//                    "delete_version_after": "0s"}],
//     "secrets": [{"mount": "secret", "path": "app/db", "data": {"user": "u"},
//                  "versions": [{...}, {...}],     // instead of "data": several versions
//                  "custom_metadata": {"owner": "team"}, "max_versions": 0,
//                  "cas_required": false, "delete_version_after": "0s",
//                  "deleted_versions": [1], "destroyed_versions": [2], "namespace": ""}],
//     "policies": [{"name": "app-read", "hcl": "path \"secret/data/app/*\" {...}"},
//                  {"name": "x", "rules": [{"path": "secret/data/*",
//                                           "capabilities": ["read", "list"]}]}],
//     "tokens": [{"id": "hvs.fixed", "policies": ["app-read"], "ttl": "1h", "max_ttl": "24h",
//                 "renewable": true, "no_default_policy": false, "display_name": "app",
//                 "meta": {"k": "v"}}],
//     "kubernetes": [{"mount": "kubernetes", "jwt_hs256_key": "k", "issuer": "",
//                     "roles": [{"name": "app", "bound_service_account_names": ["app"],
//                                "bound_service_account_namespaces": ["default"],
//                                "audience": "vault", "policies": ["app-read"],
//                                "token_ttl": "1h", "token_max_ttl": "24h"}]}],
//     "approle": [{"mount": "approle", "roles": [{"name": "ci", "role_id": "r",
//                   "secret_ids": ["s"], "bind_secret_id": true, "policies": ["app-read"],
//                   "token_ttl": "1h", "token_max_ttl": "24h"}]}],
//     "jwt": [{"mount": "jwt", "hs256_key": "k", "bound_issuer": "", "default_role": "",
//              "roles": [{"name": "ci", "role_type": "jwt", "bound_audiences": ["vault"],
//                         "bound_subject": "", "user_claim": "sub", "policies": ["p"],
//                         "token_ttl": "1h", "token_max_ttl": "24h"}]}]
//   }
//
// "policies" (the deprecated alias) and "token_policies" are both accepted in roles.
// @return kInvalidArgument naming the first bad entry.
absl::Status applySeed(VaultDouble& vault, const nlohmann::json& seed);

// Reads a seed file and applies it.
absl::Status applySeedFile(VaultDouble& vault, const std::string& path);

}  // namespace secretsync::test
