// Hostile manifests, one table row each, through the real loader and validators (loadManifests,
// the YAML reader, the ESO parsers, validateManifests) as `secretsync sync` and `validate` use
// them. Each row loads a hostile file together with a good file in one batch and checks that one
// finding names the file, the object and the field or problem, that no finding holds a secret
// value, and that the good ExternalSecret and its store still load clean.

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include <stdlib.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/sync/manifest_set.h"
#include "test/hostile/hostile_table.h"
#include "test/support/manifest_fixtures.h"

namespace secretsync::hostile {
namespace {

// A good ExternalSecret, its store and the store's token: what must survive every row.
std::string goodFile() {
  return test::tokenStoreManifests("default", "https://vault.example:8200", "SENTINEL-GOOD-TOKEN") +
         R"(apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: good, namespace: default}
spec:
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: good}
  data: [{secretKey: password, remoteRef: {key: app/db, property: password}}]
)";
}

// The head of an ExternalSecret named `name` whose spec continues with `spec_rest` (YAML lines,
// indented two spaces).
std::string externalSecret(const std::string& name, const std::string& spec_rest) {
  return absl::StrCat(
      "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: \"", name,
      "\", namespace: default}\nspec:\n  secretStoreRef: {name: vault, kind: SecretStore}\n",
      spec_rest);
}

std::string esWithData(const std::string& data_yaml) {
  return externalSecret("hostile", "  target: {name: hostile}\n" + data_yaml);
}

struct ManifestRow {
  std::string name;
  // The hostile file's text, built on demand (some are large).
  std::string (*text)();
  Expected expected;
};
// ctest names each case by its row; the row prints as its name only.
void PrintTo(const ManifestRow& row, std::ostream* os) { *os << row.name; }

class ManifestHostileTest : public ::testing::TestWithParam<ManifestRow> {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/secretsync-hostile-manifest-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::string dir_;
};

std::string billionLaughs() {
  std::string yaml = "a0: &a0 [\"SENTINEL-LOL\"]\n";
  for (int i = 1; i <= 12; ++i) {
    absl::StrAppend(&yaml, "a", i, ": &a", i, " [");
    for (int j = 0; j < 9; ++j) absl::StrAppend(&yaml, j == 0 ? "" : ",", "*a", i - 1);
    absl::StrAppend(&yaml, "]\n");
  }
  return yaml;
}

std::vector<ManifestRow> rows() {
  using absl::StatusCode;
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  return {
      {"yaml_billion_laughs",
       [] {
         return absl::StrCat("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n",
                             "  x: 1\n", "laughs:\n  ", billionLaughs());
       },
       {kInvalid, {"hostile.yaml"}}},
      {"yaml_nested_100k_levels",
       [] { return "a: " + std::string(100'000, '[') + std::string(100'000, ']') + "\n"; },
       {kInvalid, {"hostile.yaml", "line 1"}}},
      {"yaml_duplicate_key",
       [] {
         return std::string(
             "apiVersion: v1\nkind: Secret\nmetadata: {name: dup, namespace: default}\n"
             "stringData:\n  password: SENTINEL-DUP-1\n  password: SENTINEL-DUP-2\n");
       },
       {kInvalid, {"hostile.yaml", "line 6", "duplicate"}}},
      {"yaml_truncated",
       [] { return esWithData("  data: [{secretKey: a, remoteRef: {key: \"app/db"); },
       {kInvalid, {"hostile.yaml", "line"}}},
      {"yaml_invalid_utf8",
       [] { return esWithData("  data: [{secretKey: a, remoteRef: {key: \"app\xff\xfe\"}}]\n"); },
       {kInvalid, {"hostile.yaml", "line 7", "not UTF-8"}}},
      {"name_with_nul_byte",
       [] {
         return externalSecret(
             "es\\0x", "  target: {name: t}\n  data: [{secretKey: a, remoteRef: {key: k}}]\n");
       },
       {kInvalid, {"hostile.yaml", "metadata.name"}}},
      {"name_path_traversal",
       [] {
         return externalSecret(
             "../../etc", "  target: {name: t}\n  data: [{secretKey: a, remoteRef: {key: k}}]\n");
       },
       {kInvalid, {"hostile.yaml", "metadata.name"}}},
      {"target_name_path_traversal",
       [] {
         return externalSecret("traversal",
                               "  target: {name: ../../root}\n"
                               "  data: [{secretKey: a, remoteRef: {key: k}}]\n");
       },
       {kInvalid, {"ExternalSecret default/traversal", "spec.target.name"}}},
      {"secret_key_with_slash",
       [] { return esWithData("  data: [{secretKey: ../x, remoteRef: {key: app/db}}]\n"); },
       {kInvalid, {"ExternalSecret default/hostile", "spec.data[0].secretKey"}}},
      {"secret_key_with_space",
       [] { return esWithData("  data: [{secretKey: \"a b\", remoteRef: {key: app/db}}]\n"); },
       {kInvalid, {"ExternalSecret default/hostile", "spec.data[0].secretKey"}}},
      {"secret_key_300_chars",
       [] {
         return esWithData("  data: [{secretKey: " + std::string(300, 'k') +
                           ", remoteRef: {key: app/db}}]\n");
       },
       {kInvalid, {"ExternalSecret default/hostile", "spec.data[0].secretKey"}}},
      {"spec_is_a_string",
       [] {
         return std::string(
             "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
             "metadata: {name: hostile, namespace: default}\nspec: SENTINEL-SPEC\n");
       },
       {kInvalid, {"ExternalSecret default/hostile", "spec"}}},
      {"data_is_a_mapping",
       [] { return esWithData("  data: {secretKey: a}\n"); },
       {kInvalid, {"ExternalSecret default/hostile", "spec.data"}}},
      {"remote_ref_key_a_list",
       [] { return esWithData("  data: [{secretKey: a, remoteRef: {key: [x]}}]\n"); },
       {kInvalid, {"ExternalSecret default/hostile", "spec.data[0].remoteRef.key"}}},
      {"refresh_interval_out_of_range",
       [] {
         return esWithData(
             "  refreshInterval: 99999999999999999999h\n"
             "  data: [{secretKey: a, remoteRef: {key: app/db}}]\n");
       },
       {kInvalid, {"ExternalSecret default/hostile", "spec.refreshInterval"}}},
      {"refresh_interval_garbage",
       [] {
         return esWithData(
             "  refreshInterval: soon\n"
             "  data: [{secretKey: a, remoteRef: {key: app/db}}]\n");
       },
       {kInvalid, {"ExternalSecret default/hostile", "spec.refreshInterval"}}},
      {"creation_policy_not_in_enum",
       [] {
         return externalSecret("hostile",
                               "  target: {name: t, creationPolicy: Steal}\n"
                               "  data: [{secretKey: a, remoteRef: {key: k}}]\n");
       },
       {kInvalid, {"ExternalSecret default/hostile", "spec.target.creationPolicy", "Steal"}}},
      {"data_from_100k_entries_with_bad_last",
       [] {
         std::string yaml = "  dataFrom:\n";
         for (int i = 0; i < 100'000; ++i)
           absl::StrAppend(&yaml, "  - extract: {key: app/", i, "}\n");
         absl::StrAppend(&yaml, "  - extract: {key: \"\"}\n");
         return externalSecret("hostile", "  target: {name: t}\n" + yaml);
       },
       {kInvalid, {"ExternalSecret default/hostile", "spec.dataFrom[100000].extract.key"}}},
      {"secret_data_not_base64",
       [] {
         return std::string(
             "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: "
             "default}\ndata: {token: \"SENTINEL-NOT*BASE64!\"}\n");
       },
       {kInvalid, {"hostile.yaml", "Secret default/creds", "token"}}},
      {"namespace_path_traversal",
       [] {
         return std::string(
             "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
             "metadata: {name: escape, namespace: ../../tmp}\nspec:\n"
             "  secretStoreRef: {name: vault, kind: SecretStore}\n  target: {name: t}\n"
             "  data: [{secretKey: a, remoteRef: {key: k}}]\n");
       },
       {kInvalid, {"hostile.yaml", "metadata.namespace", "RFC 1123 label"}}},
      {"secret_string_data_a_number_list",
       [] {
         return std::string(
             "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: "
             "default}\nstringData: {token: [1, 2]}\n");
       },
       {kInvalid, {"hostile.yaml", "Secret default/creds", "stringData"}}},
      {"api_version_a_list",
       [] { return std::string("apiVersion: [v1]\nkind: Secret\nmetadata: {name: x}\n"); },
       {kInvalid, {"hostile.yaml", "apiVersion"}}},
      {"store_server_file_url",
       [] {
         return std::string(
             "apiVersion: external-secrets.io/v1\nkind: SecretStore\n"
             "metadata: {name: evil, namespace: default}\nspec:\n  provider:\n    vault:\n"
             "      server: file:///etc/shadow\n      auth: {tokenSecretRef: {name: t, key: "
             "token}}\n");
       },
       {kInvalid, {"SecretStore default/evil", "spec.provider.vault.server"}}},
      {"store_credentials_in_another_namespace",
       [] {
         return std::string(
             "apiVersion: external-secrets.io/v1\nkind: SecretStore\n"
             "metadata: {name: evil, namespace: default}\nspec:\n  provider:\n    vault:\n"
             "      server: https://vault:8200\n      auth: {tokenSecretRef: {name: t, key: "
             "token, namespace: kube-system}}\n");
       },
       {kInvalid, {"SecretStore default/evil", "tokenSecretRef.namespace"}}},
      {"namespace_regex_50k_open_groups",
       [] {
         return absl::StrCat(
             "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\n"
             "metadata: {name: evil}\nspec:\n  conditions:\n    - namespaceRegexes: [\"",
             std::string(50'000, '('),
             "\"]\n  provider:\n    vault:\n      server: https://vault:8200\n"
             "      auth: {tokenSecretRef: {name: t, key: token, namespace: default}}\n");
       },
       {kInvalid,
        {"ClusterSecretStore evil", "spec.conditions[0].namespaceRegexes[0]", "missing )"}}},
      {"duplicate_object_in_batch",
       [] {
         return std::string(
             "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
             "metadata: {name: good, namespace: default}\nspec:\n"
             "  secretStoreRef: {name: vault, kind: SecretStore}\n  target: {name: other}\n"
             "  data: [{secretKey: a, remoteRef: {key: k}}]\n");
       },
       {kInvalid, {"hostile.yaml", "ExternalSecret default/good", "duplicate"}}},
  };
}

// Validate that each hostile file gets one finding naming the file or object and the field, that
// no finding quotes a secret, and that the good file of the same batch still loads clean.
TEST_P(ManifestHostileTest, NamedFindingNoLeakBatchStillLoads) {
  const ManifestRow& row = GetParam();
  LogCapture log;
  // The good file first, so a duplicate in the hostile one is the one refused.
  const std::string good = write("a-good.yaml", goodFile());
  const std::string hostile = write("hostile.yaml", row.text());
  const sync::ManifestSet set = sync::loadManifests({good, hostile});
  const std::vector<sync::ValidationFinding> findings = sync::validateManifests(set);

  std::vector<std::string> errors;
  for (const sync::ValidationFinding& finding : findings) {
    if (finding.severity == sync::ValidationFinding::Severity::kError) {
      errors.push_back(finding.toString());
    }
  }
  // The finding that names everything the row expects, as the Status the checks take.
  absl::Status named = absl::OkStatus();
  for (const std::string& error : errors) {
    bool all = true;
    for (const std::string& name : row.expected.names) all = all && error.find(name) != error.npos;
    if (all) {
      named = absl::InvalidArgumentError(error);
      break;
    }
  }
  expectNamedError(named, row.expected, log.text(), {"SENTINEL-GOOD-TOKEN"});
  const std::string all_findings = absl::StrJoin(errors, "\n");
  EXPECT_EQ(all_findings.find(kSentinel), std::string::npos) << all_findings;
  EXPECT_LE(named.message().size(), 2048u);

  // The good objects of the batch are untouched: loaded, clean, findable.
  ASSERT_FALSE(set.external_secrets.empty());
  const auto& first = set.external_secrets.front();
  EXPECT_EQ(first.object.metadata.name, "good");
  EXPECT_TRUE(first.diagnostics.ok()) << first.diagnostics.message();
  ASSERT_TRUE(first.object.spec.secret_store_ref.has_value());
  EXPECT_NE(set.findStore(*first.object.spec.secret_store_ref, "default"), nullptr);
  // Nothing is reported against the good file (a duplicate may name it as the first one).
  for (const sync::ValidationFinding& finding : findings) {
    EXPECT_NE(finding.location.file, good) << finding.toString();
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, ManifestHostileTest, ::testing::ValuesIn(rows()),
                         rowName<ManifestRow>);

}  // namespace
}  // namespace secretsync::hostile
