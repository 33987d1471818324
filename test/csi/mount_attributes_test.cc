// The MountRequest parser: every vault-csi-provider parameter, the pod attributes the driver adds,
// and every error, with attributes built the way the driver builds them (a JSON object of
// strings, `objects` a YAML string, serviceAccount.tokens a JSON string).

#include "pkg/csi/mount_attributes.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pkg/common/status_macros.h"

namespace secretsync::csi {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig-do-not-print";

std::string tokensJson(const std::string& audience = "vault") {
  return nlohmann::json{
      {audience, {{"token", kToken}, {"expirationTimestamp", "2026-11-22T08:00:00Z"}}}}
      .dump();
}

std::map<std::string, std::string> baseAttributes() {
  return {
      {"secretProviderClass", "app-secrets"},
      {"roleName", "app"},
      {"objects",
       "- objectName: db-password\n  secretPath: secret/data/app/db\n  secretKey: password\n"},
      {"csi.storage.k8s.io/pod.name", "app-7d9f"},
      {"csi.storage.k8s.io/pod.namespace", "prod"},
      {"csi.storage.k8s.io/pod.uid", "0b8a-uid"},
      {"csi.storage.k8s.io/serviceAccount.name", "app"},
      {"csi.storage.k8s.io/ephemeral", "true"},
      {"csi.storage.k8s.io/serviceAccount.tokens", tokensJson()},
  };
}

std::string toJson(const std::map<std::string, std::string>& attributes) {
  return nlohmann::json(attributes).dump();
}

absl::StatusOr<MountOrder> parseWith(const std::map<std::string, std::string>& changes,
                                     const std::string& permission = "420") {
  auto attributes = baseAttributes();
  for (const auto& [key, value] : changes) {
    if (value == "<erase>") {
      attributes.erase(key);
    } else {
      attributes[key] = value;
    }
  }
  return parseMountRequest(toJson(attributes), "", permission);
}

absl::StatusOr<MountOrder> parseObjects(const std::string& yaml) {
  return parseWith({{"objects", yaml}});
}

void expectInvalid(const absl::StatusOr<MountOrder>& order, const std::string& fragment) {
  ASSERT_FALSE(order.ok()) << "expected an error containing: " << fragment;
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument) << order.status();
  EXPECT_THAT(std::string(order.status().message()), HasSubstr(fragment));
  EXPECT_THAT(std::string(order.status().message()), Not(HasSubstr(kToken)));
}

TEST(MountAttributesTest, ParsesTheDriversAttributes) {
  auto order = parseWith({});
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->dialect, Dialect::kVaultCsiProvider);
  EXPECT_EQ(order->secret_provider_class, "app-secrets");
  EXPECT_EQ(order->role_name, "app");
  EXPECT_EQ(order->pod.name, "app-7d9f");
  EXPECT_EQ(order->pod.namespace_name, "prod");
  EXPECT_EQ(order->pod.uid, "0b8a-uid");
  EXPECT_EQ(order->pod.service_account, "app");
  EXPECT_EQ(order->permission, 0644u);
  ASSERT_EQ(order->objects.size(), 1u);
  const MountObject& object = order->objects[0];
  EXPECT_EQ(object.object_name, "db-password");
  EXPECT_EQ(object.secret_path, "secret/data/app/db");
  EXPECT_EQ(object.ref.path, "secret/data/app/db");  // the API path; the provider maps it
  EXPECT_FALSE(object.ref.version.has_value());
  EXPECT_EQ(object.secret_key, "password");
  EXPECT_EQ(object.encoding, Encoding::kUtf8);
  EXPECT_FALSE(object.file_permission.has_value());
  ASSERT_EQ(order->service_account_tokens.count("vault"), 1u);
  EXPECT_EQ(order->service_account_tokens.at("vault").token.reveal(), kToken);
  EXPECT_EQ(order->service_account_tokens.at("vault").expiration_timestamp, "2026-11-22T08:00:00Z");
  // Defaults are left to the provider.
  EXPECT_TRUE(order->vault_address.empty());
  EXPECT_TRUE(order->auth_mount.empty());
  EXPECT_TRUE(order->audience.empty());
  EXPECT_FALSE(order->skip_tls_verify);
}

TEST(MountAttributesTest, VaultConnectionParameters) {
  auto order = parseWith({{"vaultAddress", "https://vault.example:8200"},
                          {"vaultNamespace", "team-a"},
                          {"vaultKubernetesMountPath", "kubernetes_local"},
                          {"vaultCACertPath", "/etc/vault/ca.pem"},
                          {"vaultTLSServerName", "vault.internal"},
                          {"vaultSkipTLSVerify", "true"},
                          {"audience", "stronghold"}});
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->vault_address, "https://vault.example:8200");
  EXPECT_EQ(order->vault_namespace, "team-a");
  EXPECT_EQ(order->auth_mount, "kubernetes_local");
  EXPECT_EQ(order->ca_cert_path, "/etc/vault/ca.pem");
  EXPECT_EQ(order->tls_server_name, "vault.internal");
  EXPECT_TRUE(order->skip_tls_verify);
  EXPECT_EQ(order->audience, "stronghold");
}

TEST(MountAttributesTest, AuthMountPathAliasAndPrefix) {
  auto order = parseWith({{"vaultAuthMountPath", "auth/k8s-prod/"}});
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->auth_mount, "k8s-prod");
  expectInvalid(parseWith({{"vaultAuthMountPath", "a"}, {"vaultKubernetesMountPath", "b"}}),
                "vaultAuthMountPath");
}

TEST(MountAttributesTest, SkipTlsVerifyIsGoParseBool) {
  for (const char* yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    auto order = parseWith({{"vaultSkipTLSVerify", yes}});
    ASSERT_TRUE(order.ok()) << yes;
    EXPECT_TRUE(order->skip_tls_verify) << yes;
  }
  for (const char* no : {"0", "f", "false", "False", ""}) {
    auto order = parseWith({{"vaultSkipTLSVerify", no}});
    ASSERT_TRUE(order.ok()) << no;
    EXPECT_FALSE(order->skip_tls_verify) << no;
  }
  expectInvalid(parseWith({{"vaultSkipTLSVerify", "yes"}}), "vaultSkipTLSVerify");
}

TEST(MountAttributesTest, ObjectFields) {
  auto order = parseObjects(R"(
- objectName: cert.pem
  secretPath: secret/data/tls?version=3
  secretKey: cert
  encoding: base64
  filePermission: 0600
- objectName: config/app.json
  secretPath: team/kv/app
- objectName: raw
  secretPath: legacy/raw
  encoding: HEX
  filePermission: 0o640
- objectName: decimal
  secretPath: secret/x
  filePermission: 384
  encoding: utf-8
  method: GET
)");
  ASSERT_TRUE(order.ok()) << order.status();
  ASSERT_EQ(order->objects.size(), 4u);
  EXPECT_EQ(order->objects[0].ref.path, "secret/data/tls");
  EXPECT_EQ(order->objects[0].ref.version, 3);
  EXPECT_EQ(order->objects[0].secret_key, "cert");
  EXPECT_EQ(order->objects[0].encoding, Encoding::kBase64);
  EXPECT_EQ(order->objects[0].file_permission, 0600u);
  EXPECT_EQ(order->objects[1].object_name, "config/app.json");
  EXPECT_EQ(order->objects[1].ref.path, "team/kv/app");
  EXPECT_FALSE(order->objects[1].secret_key.has_value());
  EXPECT_EQ(order->objects[2].encoding, Encoding::kHex);
  EXPECT_EQ(order->objects[2].file_permission, 0640u);
  EXPECT_EQ(order->objects[3].file_permission, 384u);
  EXPECT_EQ(order->objects[3].encoding, Encoding::kUtf8);
}

// The parser keeps Vault's API path: only the store knows whether a `data` segment is KV v2's.
TEST(MountAttributesTest, PathsStayAsWritten) {
  auto order = parseObjects(
      "- {objectName: a, secretPath: data/x}\n- {objectName: b, secretPath: kv1/data/x}\n");
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->objects[0].ref.path, "data/x");
  EXPECT_EQ(order->objects[1].ref.path, "kv1/data/x");
}

TEST(MountAttributesTest, ObjectErrorsNameTheEntryAndField) {
  const std::string ok = "- {objectName: ok, secretPath: secret/ok}\n";
  expectInvalid(parseObjects(ok + "- {secretPath: secret/x}\n"),
                "objects[1].objectName: is required");
  expectInvalid(parseObjects(ok + "- {objectName: ok2, secretPath: s/y}\n- {objectName: x}\n"),
                "objects[2].secretPath: is required");
  expectInvalid(parseObjects("- {objectName: /etc/passwd, secretPath: s/x}\n"),
                "objects[0].objectName: \"/etc/passwd\" must be a relative path");
  expectInvalid(parseObjects("- {objectName: a/../../b, secretPath: s/x}\n"),
                "objects[0].objectName");
  expectInvalid(parseObjects("- {objectName: ..data, secretPath: s/x}\n"), "reserved");
  expectInvalid(parseObjects("- {objectName: a//b, secretPath: s/x}\n"), "clean path");
  expectInvalid(parseObjects("- {objectName: a/./b, secretPath: s/x}\n"), "clean path");
  expectInvalid(parseObjects("- {objectName: dir/, secretPath: s/x}\n"), "end with");
  expectInvalid(parseObjects("- {objectName: [a], secretPath: s/x}\n"),
                "objectName: must be a string");
  expectInvalid(parseObjects(ok + "- {objectName: ok, secretPath: secret/y}\n"),
                "objects[1].objectName: \"ok\" is used twice");
  expectInvalid(
      parseObjects("- {objectName: a, secretPath: s/x}\n- {objectName: a/b, secretPath: s/y}\n"),
      "is both a file and the folder");
  expectInvalid(parseObjects("- {objectName: a, secretPath: s/x, filePermission: 01777}\n"),
                "objects[0].filePermission: \"01777\" is above 0777");
  expectInvalid(parseObjects("- {objectName: a, secretPath: s/x, filePermission: rw}\n"),
                "objects[0].filePermission: must be an octal file mode");
  expectInvalid(parseObjects("- {objectName: a, secretPath: s/x, filePermission: 0800}\n"),
                "filePermission");
  expectInvalid(parseObjects("- {objectName: a, secretPath: s/x, encoding: rot13}\n"),
                "objects[0].encoding: \"rot13\" is not one of");
  expectInvalid(parseObjects("- {objectName: a, secretPath: s/x, encoding: [x]}\n"),
                "objects[0].encoding: must be a string");
  expectInvalid(parseObjects("- {objectName: a, secretPath: \"s/x?version=0\"}\n"),
                "objects[0].secretPath");
  expectInvalid(parseObjects("- {objectName: a, secretPath: \"s/x?ttl=1\"}\n"), "?version=N");
  expectInvalid(parseObjects("- {objectName: a, secretPath: /s/x}\n"), "leading or trailing");
  expectInvalid(parseObjects("- {objectName: a, secretPath: \"\"}\n"), "non-empty");
  expectInvalid(parseObjects("- {objectName: a, secretPath: s/x, secretKey: {k: v}}\n"),
                "objects[0].secretKey: must be a string");
  expectInvalid(parseObjects("- {objectName: a, secretPath: pki/issue/x, method: PUT}\n"),
                "objects[0].method: only GET");
  expectInvalid(parseObjects("- {objectName: a, secretPath: s/x, secretArgs: {a: b}}\n"),
                "objects[0].secretArgs");
  expectInvalid(parseObjects("- just-a-string\n"), "objects[0]: must be a mapping");
}

TEST(MountAttributesTest, ObjectsListErrors) {
  expectInvalid(parseWith({{"objects", "<erase>"}}), "attribute \"objects\": is required");
  expectInvalid(parseObjects("objectName: a\n"), "must be a YAML list");
  expectInvalid(parseObjects("[]"), "lists no object");
  expectInvalid(parseObjects("- {objectName: a, secretPath: [unclosed\n"), "is not valid YAML");
  std::string many;
  for (int i = 0; i < 300; ++i) {
    many += "- {objectName: o" + std::to_string(i) + ", secretPath: s/x}\n";
  }
  expectInvalid(parseObjects(many), "over the limit of 256");
  MountAttributesLimits tight;
  tight.max_objects_yaml_bytes = 10;
  auto attributes = baseAttributes();
  expectInvalid(parseMountRequest(toJson(attributes), "", "", tight), "bytes is over the limit");
}

TEST(MountAttributesTest, RequiredAttributes) {
  expectInvalid(parseWith({{"roleName", "<erase>"}}), "attribute \"roleName\": is required");
  expectInvalid(parseWith({{"csi.storage.k8s.io/pod.namespace", "<erase>"}}),
                "csi.storage.k8s.io/pod.namespace");
  expectInvalid(parseWith({{"csi.storage.k8s.io/serviceAccount.name", "<erase>"}}),
                "csi.storage.k8s.io/serviceAccount.name");
  expectInvalid(parseWith({{"vaultAddress", "vault:8200"}}), "attribute \"vaultAddress\"");
  expectInvalid(parseWith({{"vaultCADirectory", "/etc/ca"}}), "vaultCADirectory");
  expectInvalid(parseWith({{"vaultTLSClientCertPath", "/c.pem"}}), "vaultTLSClientCertPath");
}

TEST(MountAttributesTest, EnvelopeErrors) {
  expectInvalid(parseMountRequest("", "", ""), "attributes: empty");
  expectInvalid(parseMountRequest("not json", "", ""), "attributes: must be a JSON object");
  expectInvalid(parseMountRequest("[1,2]", "", ""), "attributes: must be a JSON object");
  expectInvalid(parseMountRequest(R"({"roleName": 3})", "", ""), "\"roleName\" must be a string");
  expectInvalid(parseMountRequest(toJson(baseAttributes()), "{", ""), "secrets: must be a JSON");
  expectInvalid(parseWith({}, "644x"), "permission: \"644x\"");
  expectInvalid(parseWith({}, "4096"), "permission");
  MountAttributesLimits tight;
  tight.max_input_bytes = 16;
  expectInvalid(parseMountRequest(toJson(baseAttributes()), "", "", tight), "over the limit");
}

TEST(MountAttributesTest, NoPermissionLeavesItUnset) {
  auto order = parseWith({}, "");
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_FALSE(order->permission.has_value());
}

TEST(MountAttributesTest, TokensFromSecretsWinAndErrorsNeverShowThem) {
  auto attributes = baseAttributes();
  attributes.erase("csi.storage.k8s.io/serviceAccount.tokens");
  const std::string secrets =
      nlohmann::json{{"csi.storage.k8s.io/serviceAccount.tokens", tokensJson("custom")}}.dump();
  auto order = parseMountRequest(toJson(attributes), secrets, "420");
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->service_account_tokens.at("custom").token.reveal(), kToken);

  // Malformed token entries: the message names the attribute, never the token.
  const std::string bad_entry = std::string(R"({"vault": {"tok": ")") + kToken + R"("}})";
  expectInvalid(parseWith({{"csi.storage.k8s.io/serviceAccount.tokens", bad_entry}}),
                "has no \"token\" string");
  const std::string not_json = std::string("{\"vault\": ") + kToken;
  expectInvalid(parseWith({{"csi.storage.k8s.io/serviceAccount.tokens", not_json}}),
                "must be a JSON object");
  const std::string bad_secrets = std::string("{\"x\": \"") + kToken;
  expectInvalid(parseMountRequest(toJson(baseAttributes()), bad_secrets, ""), "secrets:");
}

// --- Deckhouse's SecretsStoreImport dialect -------------------------------------------------

// The attributes Deckhouse's patched driver sends: the volume's `secretsStoreImport` instead of
// `secretProviderClass`, and the pod info kubelet adds.
std::map<std::string, std::string> ssiAttributes() {
  auto attributes = baseAttributes();
  attributes.erase("secretProviderClass");
  attributes.erase("roleName");
  attributes.erase("objects");
  attributes["secretsStoreImport"] = "app-secrets";
  return attributes;
}

// A SecretsStoreImport as the API server returns it, in the shape of Deckhouse's docs/USAGE.md.
nlohmann::json ssiObject() {
  return nlohmann::json::parse(R"({
    "apiVersion": "deckhouse.io/v1alpha1",
    "kind": "SecretsStoreImport",
    "metadata": {"name": "app-secrets", "namespace": "prod", "uid": "u-1"},
    "spec": {
      "type": "CSI",
      "role": "my_namespace_operator",
      "files": [
        {"name": "db-password", "source": {"path": "demo-kv/data/myapp-secret", "key": "DB_PASS"}},
        {"name": "tls.crt", "decodeBase64": true,
         "source": {"path": "demo-kv/data/tls?version=3", "key": "crt"}},
        {"name": "all.json", "source": {"path": "kv1/myapp"}}
      ]
    }
  })");
}

absl::StatusOr<MountOrder> applyObject(const nlohmann::json& object) {
  ASSIGN_OR_RETURN(MountOrder order, parseMountRequest(toJson(ssiAttributes()), "", "420"));
  RETURN_IF_ERROR(applySecretsStoreImport(object, MountAttributesLimits{}, &order));
  return order;
}

TEST(SecretsStoreImportTest, AttributesNameTheImportAndCarryThePod) {
  EXPECT_EQ(detectDialect(ssiAttributes()), Dialect::kSecretsStoreImport);
  EXPECT_EQ(detectDialect(baseAttributes()), Dialect::kVaultCsiProvider);
  auto order = parseMountRequest(toJson(ssiAttributes()), "", "420");
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->dialect, Dialect::kSecretsStoreImport);
  EXPECT_EQ(order->secrets_store_import, "app-secrets");
  EXPECT_EQ(order->pod.namespace_name, "prod");
  EXPECT_EQ(order->pod.service_account, "app");
  EXPECT_EQ(order->service_account_tokens.at("vault").token.reveal(), kToken);
  EXPECT_EQ(order->permission, 0644u);
  // Nothing to read until the object is applied.
  EXPECT_TRUE(order->role_name.empty());
  EXPECT_TRUE(order->objects.empty());
}

TEST(SecretsStoreImportTest, AttributeErrors) {
  const struct {
    std::string key;
    std::string value;
    std::string fragment;
  } cases[] = {
      {"secretsStoreImport", "", "attribute \"secretsStoreImport\": is empty"},
      {"secretsStoreImport", "App_Secrets", "\"App_Secrets\" is not an object name"},
      {"secretsStoreImport", "../x", "\"../x\" is not an object name"},
      {"secretsStoreImport", std::string(254, 'a'), "longer than 253"},
      {"csi.storage.k8s.io/pod.namespace", "<erase>", "podInfoOnMount"},
      {"csi.storage.k8s.io/serviceAccount.name", "<erase>", "podInfoOnMount"},
      {"csi.storage.k8s.io/serviceAccount.tokens", "{", "serviceAccount.tokens"},
  };
  for (const auto& c : cases) {
    auto attributes = ssiAttributes();
    if (c.value == "<erase>") {
      attributes.erase(c.key);
    } else {
      attributes[c.key] = c.value;
    }
    SCOPED_TRACE(c.key + "=" + c.value);
    expectInvalid(parseMountRequest(toJson(attributes), "", "420"), c.fragment);
  }
}

TEST(SecretsStoreImportTest, CompilesToTheSameObjectsAsTheVaultDialect) {
  auto order = applyObject(ssiObject());
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->role_name, "my_namespace_operator");
  // Unset connection fields: the provider's flags fill them in.
  EXPECT_EQ(order->vault_address, "");
  EXPECT_EQ(order->auth_mount, "");
  EXPECT_EQ(order->vault_namespace, "");
  EXPECT_EQ(order->audience, "");
  EXPECT_FALSE(order->skip_tls_verify);
  ASSERT_EQ(order->objects.size(), 3u);
  EXPECT_EQ(order->objects[0].object_name, "db-password");
  EXPECT_EQ(order->objects[0].secret_path, "demo-kv/data/myapp-secret");
  EXPECT_EQ(order->objects[0].ref.path, "demo-kv/data/myapp-secret");
  EXPECT_FALSE(order->objects[0].ref.version.has_value());
  EXPECT_EQ(order->objects[0].secret_key, "DB_PASS");
  EXPECT_EQ(order->objects[0].encoding, Encoding::kUtf8);
  EXPECT_FALSE(order->objects[0].file_permission.has_value());
  EXPECT_EQ(order->objects[1].ref.path, "demo-kv/data/tls");
  EXPECT_EQ(order->objects[1].ref.version, 3);
  EXPECT_EQ(order->objects[1].encoding, Encoding::kBase64);
  EXPECT_EQ(order->objects[2].ref.path, "kv1/myapp");
  EXPECT_FALSE(order->objects[2].secret_key.has_value());

  // The same files written as vault-csi-provider objects compile to the same MountObjects.
  auto spc = parseObjects(
      "- {objectName: db-password, secretPath: demo-kv/data/myapp-secret, secretKey: DB_PASS}\n"
      "- {objectName: tls.crt, secretPath: 'demo-kv/data/tls?version=3', secretKey: crt,"
      " encoding: base64}\n"
      "- {objectName: all.json, secretPath: kv1/myapp}\n");
  ASSERT_TRUE(spc.ok()) << spc.status();
  ASSERT_EQ(spc->objects.size(), order->objects.size());
  for (size_t i = 0; i < spc->objects.size(); ++i) {
    EXPECT_EQ(spc->objects[i].object_name, order->objects[i].object_name);
    EXPECT_EQ(spc->objects[i].ref, order->objects[i].ref);
    EXPECT_EQ(spc->objects[i].secret_key, order->objects[i].secret_key);
    EXPECT_EQ(spc->objects[i].encoding, order->objects[i].encoding);
  }
}

TEST(SecretsStoreImportTest, OptionalConnectionFields) {
  nlohmann::json object = ssiObject();
  object["spec"]["authPath"] = "auth/kubernetes_local/";
  object["spec"]["namespace"] = "team-a";
  object["spec"]["address"] = "https://stronghold.d8-stronghold.svc:8300";
  object["spec"]["audience"] = "stronghold";
  object["spec"]["skipTLSVerify"] = true;
  object["spec"]["caCert"] = "";  // empty: the provider's CA
  auto order = applyObject(object);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->auth_mount, "kubernetes_local");
  EXPECT_EQ(order->vault_namespace, "team-a");
  EXPECT_EQ(order->vault_address, "https://stronghold.d8-stronghold.svc:8300");
  EXPECT_EQ(order->audience, "stronghold");
  EXPECT_TRUE(order->skip_tls_verify);
}

TEST(SecretsStoreImportTest, ObjectErrorsNameTheObjectAndTheField) {
  using Json = nlohmann::json;
  const struct {
    std::string pointer;  // JSON pointer into the object; "" replaces the whole object
    Json value;           // null with erase=true: remove the field
    bool erase;
    std::string fragment;
  } cases[] = {
      {"", Json::array(), false, "object: is not a JSON object"},
      {"/spec", nullptr, true, "spec: is required"},
      {"/spec", "CSI", false, "spec: is required"},
      {"/spec/type", nullptr, true, "spec.type: is required (CSI)"},
      {"/spec/type", "Env", false, "spec.type: \"Env\" is not supported (only CSI)"},
      {"/spec/type", 1, false, "spec.type: must be a string"},
      {"/spec/role", nullptr, true, "spec.role: is required"},
      {"/spec/role", "", false, "spec.role: is required"},
      {"/spec/role", "my role", false, "spec.role: \"my role\" may hold only"},
      {"/spec/role", Json::array(), false, "spec.role: must be a string"},
      {"/spec/address", "stronghold:8300", false, "spec.address: \"stronghold:8300\" must be"},
      {"/spec/authPath", 5, false, "spec.authPath: must be a string"},
      {"/spec/caCert", "-----BEGIN CERTIFICATE-----", false, "spec.caCert: is not supported yet"},
      {"/spec/skipTLSVerify", "true", false, "spec.skipTLSVerify: must be true or false"},
      {"/spec/files", nullptr, true, "spec.files: is required"},
      {"/spec/files", Json::array(), false, "spec.files: is required"},
      {"/spec/files", "a", false, "spec.files: is required"},
      {"/spec/files/1", "tls.crt", false, "spec.files[1]: must be an object"},
      {"/spec/files/1/name", nullptr, true, "spec.files[1].name: is required"},
      {"/spec/files/1/name", 3, false, "spec.files[1].name: must be a string"},
      {"/spec/files/1/name", "../etc/passwd", false,
       "spec.files[1].name: \"../etc/passwd\" must not start with \"..\""},
      {"/spec/files/1/name", "/etc/passwd", false,
       "spec.files[1].name: \"/etc/passwd\" must be a relative path"},
      {"/spec/files/1/name", "a/../../b", false, "spec.files[1].name: \"a/../../b\" must not"},
      {"/spec/files/1/name", "..data", false, "spec.files[1].name: \"..data\" must not start"},
      {"/spec/files/1/name", std::string(300, 'n'), false, "spec.files[1].name: is longer than"},
      {"/spec/files/1/name", "db-password", false,
       "spec.files[1].name: \"db-password\" is used twice"},
      {"/spec/files/1/name", "db-password/x", false,
       "spec.files[1].name: \"db-password\" is both a file and the folder of \"db-password/x\""},
      {"/spec/files/1/decodeBase64", "yes", false,
       "spec.files[1].decodeBase64: must be true or false"},
      {"/spec/files/1/source", nullptr, true, "spec.files[1].source: is required"},
      {"/spec/files/1/source", "kv/x", false, "spec.files[1].source: is required"},
      {"/spec/files/1/source/path", nullptr, true, "spec.files[1].source.path: is required"},
      {"/spec/files/1/source/path", "", false, "spec.files[1].source.path: is required"},
      {"/spec/files/1/source/path", "/kv/x", false,
       "spec.files[1].source.path: \"/kv/x\" must name a secret"},
      {"/spec/files/1/source/path", "kv/x?version=0", false,
       "spec.files[1].source.path: secret path \"kv/x?version=0\": the only query"},
      {"/spec/files/1/source/key", false, false, "spec.files[1].source.key: must be a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.pointer + " " + c.value.dump());
    Json object = ssiObject();
    if (c.pointer.empty()) {
      object = c.value;
    } else if (c.erase) {
      const Json::json_pointer pointer(c.pointer);
      object[pointer.parent_pointer()].erase(pointer.back());
    } else {
      object[Json::json_pointer(c.pointer)] = c.value;
    }
    auto order = applyObject(object);
    expectInvalid(order, "SecretsStoreImport \"prod/app-secrets\": ");
    expectInvalid(order, c.fragment);
  }
}

TEST(SecretsStoreImportTest, FileCountIsBounded) {
  nlohmann::json object = ssiObject();
  nlohmann::json files = nlohmann::json::array();
  for (int i = 0; i < 257; ++i) {
    files.push_back({{"name", "f" + std::to_string(i)}, {"source", {{"path", "kv/x"}}}});
  }
  object["spec"]["files"] = files;
  expectInvalid(applyObject(object), "spec.files: lists 257 files, over the limit of 256");
}

TEST(SecretsStoreImportTest, OnlyAnImportOrderIsCompleted) {
  auto order = parseWith({});
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_FALSE(applySecretsStoreImport(ssiObject(), MountAttributesLimits{}, &*order).ok());
  EXPECT_EQ(order->role_name, "app");
}

TEST(MountAttributesTest, ValidateFilePath) {
  EXPECT_TRUE(validateFilePath("a").ok());
  EXPECT_TRUE(validateFilePath("a/b.c").ok());
  EXPECT_TRUE(validateFilePath(".hidden").ok());
  EXPECT_TRUE(validateFilePath("a..b").ok());
  for (const char* bad :
       {"", "/a", "..", "../a", "..data", "a/..", "a/../b", "a//b", "./a", "a/", "a/."}) {
    EXPECT_FALSE(validateFilePath(bad).ok()) << bad;
  }
  EXPECT_FALSE(validateFilePath(std::string_view("a\0b", 3)).ok());
}

}  // namespace
}  // namespace secretsync::csi
