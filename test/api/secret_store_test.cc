#include "pkg/api/secret_store.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/api/vault_provider.h"
#include "test/api/test_util.h"

namespace secretsync::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::strings;
using testing::yaml;

Parsed<SecretStore> parseOk(const std::string& text) {
  auto parsed = parseSecretStore(yaml(text));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : Parsed<SecretStore>{};
}

Parsed<SecretStore> storeWithVault(const std::string& vault_body,
                                   const std::string& kind = "SecretStore") {
  return parseOk("apiVersion: external-secrets.io/v1\nkind: " + kind +
                 "\nmetadata: {name: vault, namespace: team-a}\nspec:\n  provider:\n    vault:\n" +
                 vault_body);
}

constexpr char kServer[] = "      server: https://vault.example:8200\n";

// ESO docs' hashicorp-vault.md Kubernetes example.
TEST(SecretStoreTest, ParsesKubernetesAuthStore) {
  auto parsed = parseOk(R"(
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: vault-backend
  namespace: team-a
spec:
  controller: dev
  refreshInterval: 300
  retrySettings: {maxRetries: 5, retryInterval: 10s}
  provider:
    vault:
      server: "https://vault.acme.org"
      path: "secret"
      version: "v2"
      namespace: "ns1"
      caBundle: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
      readYourWrites: true
      auth:
        kubernetes:
          mountPath: "kubernetes"
          role: "demo"
          serviceAccountRef:
            name: "my-sa"
            audiences: [vault]
)");
  EXPECT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  EXPECT_THAT(parsed.diagnostics.warnings, IsEmpty());
  const SecretStore& s = parsed.object;
  EXPECT_EQ(s.kind, StoreKind::kSecretStore);
  EXPECT_EQ(s.spec.controller, "dev");
  EXPECT_EQ(s.spec.refresh_interval, absl::Minutes(5));
  EXPECT_EQ(s.spec.retry_settings->max_retries, 5);
  EXPECT_EQ(s.spec.retry_settings->retry_interval, absl::Seconds(10));
  ASSERT_TRUE(s.spec.vault.has_value());
  EXPECT_EQ(s.spec.vault->server, "https://vault.acme.org");
  EXPECT_EQ(s.spec.vault->ca_bundle_pem, "-----BEGIN CERTIFICATE-----\n");
  EXPECT_TRUE(s.spec.vault->read_your_writes);
  const auto& k8s = std::get<VaultKubernetesAuth>(s.spec.vault->auth);
  EXPECT_EQ(k8s.role, "demo");
  EXPECT_EQ(k8s.service_account_ref->name, "my-sa");
}

TEST(SecretStoreTest, V1beta1AndDefaults) {
  auto parsed = parseOk(R"(
apiVersion: external-secrets.io/v1beta1
kind: ClusterSecretStore
metadata: {name: vault}
spec:
  provider:
    vault:
      server: http://vault:8200
      auth:
        appRole:
          roleId: db02de05-fa39-4855-059b-67221c5c2f63
          secretRef: {name: vault-secret-id, key: secret-id, namespace: eso}
)");
  EXPECT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  EXPECT_EQ(parsed.object.api_version, ApiVersion::kV1beta1);
  EXPECT_EQ(parsed.object.kind, StoreKind::kClusterSecretStore);
  EXPECT_EQ(parsed.object.spec.vault->version, VaultKvVersion::kV2);
  EXPECT_FALSE(parsed.object.spec.refresh_interval.has_value());
  EXPECT_EQ(std::get<VaultAppRoleAuth>(parsed.object.spec.vault->auth).path, "approle");
}

TEST(SecretStoreTest, AuthDefaults) {
  auto k8s = storeWithVault(std::string(kServer) + "      auth: {kubernetes: {role: r}}\n");
  EXPECT_TRUE(k8s.diagnostics.ok()) << k8s.diagnostics.message();
  EXPECT_EQ(std::get<VaultKubernetesAuth>(k8s.object.spec.vault->auth).mount_path, "kubernetes");
  auto jwt = storeWithVault(std::string(kServer) +
                            "      auth: {jwt: {secretRef: {name: s, key: jwt}}}\n");
  EXPECT_TRUE(jwt.diagnostics.ok()) << jwt.diagnostics.message();
  EXPECT_EQ(std::get<VaultJwtAuth>(jwt.object.spec.vault->auth).path, "jwt");
  auto k8s_secret = storeWithVault(std::string(kServer) +
                                   "      auth: {kubernetes: {role: r, secretRef: {name: sa}}}\n");
  EXPECT_EQ(std::get<VaultKubernetesAuth>(k8s_secret.object.spec.vault->auth).secret_ref->key,
            "token");
}

TEST(SecretStoreTest, NamesValidationErrors) {
  EXPECT_THAT(
      strings(
          storeWithVault("      auth: {tokenSecretRef: {name: t, key: k}}\n").diagnostics.errors),
      ElementsAre("spec.provider.vault.server: Required value"));
  EXPECT_THAT(strings(storeWithVault("      server: vault:8200\n      version: v3\n      auth: "
                                     "{tokenSecretRef: {name: t}}\n")
                          .diagnostics.errors),
              ElementsAre("spec.provider.vault.server: Invalid value: \"vault:8200\": must be an "
                          "http:// or https:// URL",
                          "spec.provider.vault.version: Unsupported value: \"v3\": supported "
                          "values: \"v1\", \"v2\"",
                          "spec.provider.vault.auth.tokenSecretRef.key: Required value"));
  EXPECT_THAT(strings(storeWithVault(std::string(kServer) + "      caBundle: \"!!notbase64\"\n"
                                                            "      auth: {kubernetes: {}}\n")
                          .diagnostics.errors),
              ElementsAre("spec.provider.vault.caBundle: Invalid value: \"<caBundle>\": must be "
                          "base64-encoded PEM",
                          "spec.provider.vault.auth.kubernetes.role: Required value"));
  EXPECT_THAT(strings(storeWithVault(kServer).diagnostics.errors),
              ElementsAre("spec.provider.vault.auth: Required value"));
  EXPECT_THAT(strings(storeWithVault(std::string(kServer) + "      auth: {}\n").diagnostics.errors),
              ElementsAre(HasSubstr("spec.provider.vault.auth: Required value: one of")));
  EXPECT_THAT(strings(storeWithVault(std::string(kServer) +
                                     "      auth: {kubernetes: {role: r}, jwt: {secretRef: "
                                     "{name: a, key: b}}}\n")
                          .diagnostics.errors),
              ElementsAre("spec.provider.vault.auth: Forbidden: only one auth method may be set"));
  EXPECT_THAT(
      strings(
          storeWithVault(std::string(kServer) + "      auth: {appRole: {}}\n").diagnostics.errors),
      ElementsAre(HasSubstr("spec.provider.vault.auth.appRole.roleId: Required value"),
                  "spec.provider.vault.auth.appRole.secretRef: Required value"));
  EXPECT_THAT(strings(storeWithVault(std::string(kServer) + "      auth: {jwt: {role: r}}\n")
                          .diagnostics.errors),
              ElementsAre("spec.provider.vault.auth.jwt: Required value: exactly one of secretRef "
                          "and kubernetesServiceAccountToken"));
  EXPECT_THAT(strings(storeWithVault(std::string(kServer) +
                                     "      caProvider: {type: File, name: ca}\n"
                                     "      auth: {tokenSecretRef: {name: t, key: k, namespace: "
                                     "other}}\n")
                          .diagnostics.errors),
              ElementsAre("spec.provider.vault.caProvider.type: Unsupported value: \"File\": "
                          "supported values: \"Secret\", \"ConfigMap\"",
                          "spec.provider.vault.caProvider.key: Required value",
                          "spec.provider.vault.auth.tokenSecretRef.namespace: Forbidden: namespace "
                          "should either be empty or match the namespace of the SecretStore for a "
                          "namespaced SecretStore"));
  auto no_provider = parseOk(
      "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {}\n");
  EXPECT_THAT(strings(no_provider.diagnostics.errors),
              ElementsAre("spec.provider: Required value"));
}

TEST(SecretStoreTest, ReportsUnsupportedByName) {
  EXPECT_THAT(
      strings(storeWithVault(std::string(kServer) + "      tls: {certSecretRef: {name: c}}\n"
                                                    "      headers: {X-A: b}\n"
                                                    "      auth: {iam: {region: eu}}\n")
                  .diagnostics.unsupported),
      ElementsAre("spec.provider.vault.auth.iam: Forbidden: not supported by secretsync "
                  "yet: Vault iam auth",
                  "spec.provider.vault.tls: Forbidden: not supported by secretsync yet: "
                  "client certificates for mutual TLS",
                  "spec.provider.vault.headers: Forbidden: not supported by secretsync "
                  "yet: extra HTTP headers"));
  for (const char* method : {"cert", "ldap", "userPass"}) {
    auto parsed = storeWithVault(std::string(kServer) + "      auth: {" + method + ": {}}\n");
    EXPECT_THAT(strings(parsed.diagnostics.unsupported),
                ElementsAre(HasSubstr(std::string("spec.provider.vault.auth.") + method)));
    EXPECT_EQ(parsed.diagnostics.reason(), "UnsupportedField");
  }
  auto aws = parseOk(
      "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec:\n"
      "  provider: {aws: {service: SecretsManager, region: eu-west-1}}\n");
  EXPECT_THAT(strings(aws.diagnostics.unsupported),
              ElementsAre("spec.provider.aws: Forbidden: not supported by secretsync yet: "
                          "provider \"aws\"; secretsync implements the vault provider only"));
  EXPECT_THAT(aws.diagnostics.errors, IsEmpty());
}

TEST(SecretStoreTest, ClusterStoreConditions) {
  auto parsed = parseOk(R"(
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared}
spec:
  conditions:
    - namespaces: [team-a]
    - namespaceRegexes: ["team-b-.*"]
    - namespaceSelector:
        matchLabels: {tier: prod}
        matchExpressions:
          - {key: env, operator: NotIn, values: [dev]}
  provider:
    vault:
      server: https://vault:8200
      auth: {tokenSecretRef: {name: t, key: token, namespace: eso}}
)");
  EXPECT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  const SecretStore& s = parsed.object;
  EXPECT_TRUE(namespaceAllowed(s, "team-a", {}));
  EXPECT_TRUE(namespaceAllowed(s, "team-b-x", {}));
  EXPECT_FALSE(namespaceAllowed(s, "team-bx", {}));
  EXPECT_TRUE(namespaceAllowed(s, "other", {{"tier", "prod"}}));
  EXPECT_FALSE(namespaceAllowed(s, "other", {{"tier", "prod"}, {"env", "dev"}}));
  EXPECT_FALSE(namespaceAllowed(s, "other", {}));

  auto bad = parseOk(R"(
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared}
spec:
  conditions:
    - namespaceRegexes: ["team-("]
      namespaceSelector:
        matchExpressions: [{key: env, operator: Like}, {key: a, operator: In}]
  provider:
    vault: {server: "https://v", auth: {tokenSecretRef: {name: t, key: k}}}
)");
  EXPECT_THAT(strings(bad.diagnostics.errors),
              ElementsAre("spec.conditions[0].namespaceSelector.matchExpressions[0].operator: "
                          "Unsupported value: \"Like\": supported values: \"In\", \"NotIn\", "
                          "\"Exists\", \"DoesNotExist\"",
                          "spec.conditions[0].namespaceSelector.matchExpressions[1].values: "
                          "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                          "spec.conditions[0].namespaceRegexes[0]: Invalid value: \"team-(\": not "
                          "a valid regular expression: missing ): team-("));
}

TEST(SecretStoreTest, NamespacedStoreOnlyServesItsNamespace) {
  auto parsed = storeWithVault(std::string(kServer) + "      auth: {kubernetes: {role: r}}\n");
  EXPECT_TRUE(namespaceAllowed(parsed.object, "team-a", {}));
  EXPECT_FALSE(namespaceAllowed(parsed.object, "team-b", {}));
}

// --- compilation to the store config ---

TEST(VaultProviderTest, CompilesSpecFields) {
  auto parsed = storeWithVault(
      "      server: https://vault:8200\n      path: secret/data\n      namespace: ns1\n"
      "      caBundle: \"UEVN\"\n      readYourWrites: true\n"
      "      caProvider: {type: ConfigMap, name: ca, key: ca.crt}\n"
      "      auth: {tokenSecretRef: {name: vault-token, key: token}}\n");
  ASSERT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  auto compiled = compileVaultStore(parsed.object, "team-a");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ(compiled->config.address, "https://vault:8200");
  EXPECT_EQ(compiled->config.vault_namespace, "ns1");
  EXPECT_EQ(compiled->config.kv_version, store::vault::KvVersion::kV2);
  EXPECT_EQ(compiled->config.mount, "secret");
  EXPECT_EQ(compiled->config.tls.ca_pem, "PEM");
  EXPECT_TRUE(compiled->read_your_writes);
  EXPECT_EQ(compiled->ca_config_map, (ObjectKeyRef{"team-a", "ca", "ca.crt"}));
  EXPECT_EQ(compiled->credentials.method, VaultCredentialPlan::Method::kToken);
  EXPECT_EQ(compiled->credentials.token_secret, (ObjectKeyRef{"team-a", "vault-token", "token"}));
  // A namespaced store is not usable from another namespace.
  EXPECT_EQ(compileVaultStore(parsed.object, "team-b").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(VaultProviderTest, KubernetesAuthPlans) {
  auto sa = storeWithVault(std::string(kServer) +
                           "      auth: {kubernetes: {mountPath: kubernetes_local, role: app, "
                           "serviceAccountRef: {name: app-sa, audiences: [vault]}}}\n");
  auto compiled = compileVaultStore(sa.object, "team-a");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ(compiled->credentials.method, VaultCredentialPlan::Method::kKubernetes);
  EXPECT_EQ(compiled->credentials.mount, "kubernetes_local");
  EXPECT_EQ(compiled->credentials.role, "app");
  EXPECT_EQ(compiled->credentials.token_request,
            (TokenRequestSpec{"team-a", "app-sa", {"vault"}, 600}));

  auto own = storeWithVault(std::string(kServer) + "      auth: {kubernetes: {role: app}}\n");
  compiled = compileVaultStore(own.object, "team-a");
  ASSERT_TRUE(compiled.ok());
  EXPECT_TRUE(compiled->credentials.use_own_service_account_token);
  EXPECT_FALSE(compiled->credentials.token_request.has_value());
}

TEST(VaultProviderTest, ClusterStoreRefsResolveToTheExternalSecretNamespace) {
  auto parsed = storeWithVault(std::string(kServer) + "      version: v1\n      path: /kv/\n" +
                                   "      auth:\n        appRole:\n          path: ar\n"
                                   "          roleRef: {name: role, key: id}\n"
                                   "          secretRef: {name: sid, key: s, namespace: eso}\n",
                               "ClusterSecretStore");
  ASSERT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  auto compiled = compileVaultStore(parsed.object, "team-x");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ(compiled->config.kv_version, store::vault::KvVersion::kV1);
  EXPECT_EQ(compiled->config.mount, "kv");
  EXPECT_EQ(compiled->credentials.method, VaultCredentialPlan::Method::kAppRole);
  EXPECT_EQ(compiled->credentials.mount, "ar");
  EXPECT_EQ(compiled->credentials.role_id_secret, (ObjectKeyRef{"team-x", "role", "id"}));
  EXPECT_EQ(compiled->credentials.secret_id_secret, (ObjectKeyRef{"eso", "sid", "s"}));
}

TEST(VaultProviderTest, JwtTokenRequestAudiences) {
  auto parsed = storeWithVault(std::string(kServer) +
                               "      auth:\n        jwt:\n          role: r\n"
                               "          kubernetesServiceAccountToken:\n"
                               "            serviceAccountRef: {name: sa}\n"
                               "            expirationSeconds: 900\n");
  ASSERT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  auto compiled = compileVaultStore(parsed.object, "team-a");
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(compiled->credentials.method, VaultCredentialPlan::Method::kJwt);
  EXPECT_EQ(compiled->credentials.mount, "jwt");
  EXPECT_EQ(compiled->credentials.token_request,
            (TokenRequestSpec{"team-a", "sa", {"vault"}, 900}));
}

TEST(VaultProviderTest, NoVaultProviderOrAuth) {
  auto aws = parseOk(
      "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec:\n"
      "  provider: {aws: {}}\n");
  EXPECT_EQ(compileVaultStore(aws.object, "").status().code(), absl::StatusCode::kInvalidArgument);
  auto ldap = storeWithVault(std::string(kServer) + "      auth: {ldap: {}}\n");
  EXPECT_EQ(compileVaultStore(ldap.object, "team-a").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VaultProviderTest, PathHelpers) {
  EXPECT_EQ(vaultMountFromPath("secret", VaultKvVersion::kV2), "secret");
  EXPECT_EQ(vaultMountFromPath("secret/data/", VaultKvVersion::kV2), "secret");
  EXPECT_EQ(vaultMountFromPath("team/kv", VaultKvVersion::kV2), "team/kv");
  EXPECT_EQ(vaultMountFromPath("kv/data", VaultKvVersion::kV1), "kv/data");
  EXPECT_EQ(vaultMountFromPath("", VaultKvVersion::kV2), "");
  EXPECT_EQ(vaultSecretPath("secret", "app/db"), "secret/app/db");
  EXPECT_EQ(vaultSecretPath("secret", "secret/app/db"), "secret/app/db");
  EXPECT_EQ(vaultSecretPath("secret", "secretive/x"), "secret/secretive/x");
  EXPECT_EQ(vaultSecretPath("", "secret/app"), "secret/app");
  EXPECT_EQ(vaultSecretPath("team/kv", "/app"), "team/kv/app");
}

}  // namespace
}  // namespace secretsync::api
