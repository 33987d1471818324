// The MountRequest parser: every vault-csi-provider parameter, the pod attributes the driver adds,
// and every error, with attributes built the way the driver builds them (a JSON object of
// strings, `objects` a YAML string, serviceAccount.tokens a JSON string).

#include "pkg/csi/mount_attributes.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

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
  EXPECT_EQ(object.ref.path, "secret/app/db");  // KV v2 API path → store path
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
  EXPECT_EQ(order->objects[0].ref.path, "secret/tls");
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

TEST(MountAttributesTest, DataSegmentOnlyDroppedAfterTheFirstSegment) {
  auto order = parseObjects(
      "- {objectName: a, secretPath: data/x}\n- {objectName: b, secretPath: secret/data}\n");
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->objects[0].ref.path, "data/x");
  EXPECT_EQ(order->objects[1].ref.path, "secret/data");
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

TEST(MountAttributesTest, SecretsStoreImportIsDetectedAndRefusedByName) {
  std::map<std::string, std::string> attributes = {{"secretsStoreImport", "my-ssi"}};
  EXPECT_EQ(detectDialect(attributes), Dialect::kSecretsStoreImport);
  EXPECT_EQ(detectDialect(baseAttributes()), Dialect::kVaultCsiProvider);
  expectInvalid(parseMountRequest(toJson(attributes), "", ""),
                "attribute \"secretsStoreImport\": Deckhouse's SecretsStoreImport dialect is not "
                "supported yet");
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
