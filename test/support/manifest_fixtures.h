#pragma once

// YAML fixtures shared by the tests that feed manifests to secretsync (sync -f, the API double's
// seed, hostile-input tables).

#include <string>

namespace secretsync::test {

// Secret "vault-token" holding `token`, and SecretStore "vault" (KV v2 mounted at "secret" on
// `server`) logging in with it, both in `namespace_name`; ends with a document separator, so
// ExternalSecrets can follow.
inline std::string tokenStoreManifests(const std::string& namespace_name, const std::string& server,
                                       const std::string& token) {
  return "apiVersion: v1\nkind: Secret\nmetadata: {name: vault-token, namespace: " +
         namespace_name + "}\nstringData: {token: " + token +
         "}\n---\napiVersion: external-secrets.io/v1\nkind: SecretStore\n"
         "metadata: {name: vault, namespace: " +
         namespace_name + "}\nspec:\n  provider:\n    vault:\n      server: " + server +
         "\n      path: secret\n      version: v2\n"
         "      auth: {tokenSecretRef: {name: vault-token, key: token}}\n---\n";
}

}  // namespace secretsync::test
