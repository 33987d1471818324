// Hostile Mount requests, one table row each, through the real CSI provider (attribute parser,
// identity, Vault login with the pod's token, Fetcher, size limits) against the Vault double.
// Every row checks that the error names the attribute or object and the problem, that neither it
// nor the debug log holds the pod's token or a secret value, and that the provider still serves
// the next good mount.

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pkg/csi/provider_server.h"
#include "test/csi/csi_test_util.h"
#include "test/csi/csi_vault_setup.h"
#include "test/hostile/hostile_table.h"
#include "test/support/manual_clock.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::hostile {
namespace {

using std::chrono::seconds;

constexpr char kJwtKey[] = "hostile-csi-signing-key";
constexpr char kGoodValue[] = "SENTINEL-CSI-GOOD";
constexpr char kGoodObjects[] =
    R"(- {objectName: db-password, secretPath: "secret/data/app/db", secretKey: password})";

class CsiHostileTest;

// One hostile request: `request` builds it from the fixture (which holds a valid pod and token).
struct CsiRow {
  std::string name;
  std::function<v1alpha1::MountRequest(CsiHostileTest&)> request;
  Expected expected;
};
// ctest names each case by its row; the row prints as its name only.
void PrintTo(const CsiRow& row, std::ostream* os) { *os << row.name; }

class CsiHostileTest : public ::testing::TestWithParam<CsiRow> {
 public:
  void SetUp() override {
    csi::testing::curlGlobal();
    test::VaultDoubleOptions options;
    options.clock = &clock_;
    auto vault = test::VaultDouble::start(options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(csi::testing::addAppReaderRole(*vault_, {.jwt_hs256_key = kJwtKey}).ok());
    ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"password", kGoodValue}}).ok());
    pod_.tokens["vault"] = test::mintServiceAccountJwt(
        kJwtKey, "prod", "app", {"vault"}, clock_.now() + std::chrono::hours(1), pod_.uid);
    csi::ProviderOptions provider_options;
    provider_options.default_vault_address = vault_->baseUrl();
    // Generous: the large rows take seconds to serve under sanitizers on a loaded machine.
    provider_options.vault_request_timeout = std::chrono::milliseconds(30'000);
    provider_ = std::make_unique<csi::Provider>(clock_, std::move(provider_options));
  }

  // A driver request with the pod's volume context and `parameters` (roleName defaults to app).
  v1alpha1::MountRequest request(std::map<std::string, std::string> parameters) {
    parameters.emplace("roleName", "app");
    return csi::testing::driverRequest(std::move(parameters), pod_);
  }
  v1alpha1::MountRequest objects(const std::string& yaml) { return request({{"objects", yaml}}); }
  // objects with one entry: `fields` (flow-mapping text) after objectName/secretPath defaults.
  v1alpha1::MountRequest object(const std::string& fields) { return objects("- {" + fields + "}"); }

  absl::Status mount(const v1alpha1::MountRequest& request, v1alpha1::MountResponse* response) {
    return provider_->mount(request, response);
  }

  test::ManualClock clock_;
  std::unique_ptr<test::VaultDouble> vault_;
  csi::testing::TestPod pod_;
  std::unique_ptr<csi::Provider> provider_;
};

// Flow-sequence text of `n` copies of `item`.
std::string repeated(const std::string& item, size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, i == 0 ? "" : ",", item);
  return out + "]";
}

std::string billionLaughs() {
  std::string yaml = "a0: &a0 [\"SENTINEL-LOL\"]\n";
  for (int i = 1; i <= 9; ++i) {
    absl::StrAppend(&yaml, "a", i, ": &a", i, " [");
    for (int j = 0; j < 9; ++j) absl::StrAppend(&yaml, j == 0 ? "" : ",", "*a", i - 1);
    absl::StrAppend(&yaml, "]\n");
  }
  return yaml + "objects: [{objectName: *a9, secretPath: *a9}]\n";
}

std::vector<CsiRow> rows() {
  using absl::StatusCode;
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  std::vector<CsiRow> r;
  // Requests from the attributes text as sent, from an objects list, and from one object's fields.
  auto raw = [](std::string attributes) {
    return [attributes](CsiHostileTest& t) {
      return csi::testing::requestWithAttributes(attributes, t.pod_);
    };
  };
  auto objectsOf = [](std::string yaml) {
    return [yaml](CsiHostileTest& t) { return t.objects(yaml); };
  };
  auto objectOf = [](std::string fields) {
    return [fields](CsiHostileTest& t) { return t.object(fields); };
  };
  // A good request whose serviceAccount.tokens attribute is `tokens` (a JSON text).
  auto withTokens = [](std::string tokens) {
    return [tokens](CsiHostileTest& t) {
      std::map<std::string, std::string> attributes = {
          {"roleName", "app"}, {"objects", kGoodObjects}, {"secretProviderClass", "app-secrets"}};
      csi::testing::TestPod pod = t.pod_;
      pod.tokens.clear();
      csi::testing::addPodAttributes(pod, &attributes);
      attributes["csi.storage.k8s.io/serviceAccount.tokens"] = tokens;
      return csi::testing::requestWithAttributes(nlohmann::json(attributes).dump(), pod);
    };
  };
  r.push_back(
      {"attributes_not_json", raw("{\"roleName\": \"SENTINEL-"), {kInvalid, {"attributes"}}});
  r.push_back({"attributes_a_json_array",
               raw("[\"SENTINEL-A\"]"),
               {kInvalid, {"attributes", "JSON object of strings"}}});
  r.push_back({"attribute_value_a_number",
               raw(R"({"roleName": 5, "objects": "[]"})"),
               {kInvalid, {"attributes", "roleName", "must be a string"}}});
  r.push_back({"attributes_invalid_utf8",
               raw("{\"roleName\": \"app\xff\xfe\"}"),
               {kInvalid, {"attributes", "JSON object of strings"}}});
  r.push_back({"attributes_nested_100k_levels",
               raw("{\"roleName\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}"),
               {kInvalid, {"attributes"}}});
  r.push_back({"attributes_over_1_mib",
               [](CsiHostileTest& t) {
                 return t.request(
                     {{"objects", kGoodObjects}, {"padding", std::string((1 << 20) + 1, 'p')}});
               },
               {kInvalid, {"attributes", "over the limit"}}});
  r.push_back({"objects_billion_laughs", objectsOf(billionLaughs()), {kInvalid, {"objects"}}});
  r.push_back({"objects_nested_100k_levels",
               objectsOf(std::string(100'000, '[') + std::string(100'000, ']')),
               {kInvalid, {"objects"}}});
  r.push_back({"objects_over_256_kib",
               objectsOf(std::string(kGoodObjects) + "\n#" + std::string(300 << 10, 'c')),
               {kInvalid, {"objects", "over the limit"}}});
  r.push_back({"objects_list_of_100k_entries",
               objectsOf(repeated("1", 100'000)),
               {kInvalid, {"objects", "100000 objects, over the limit"}}});
  r.push_back({"objects_invalid_yaml",
               objectsOf("- objectName: a\n\t- secretPath: [b"),
               {kInvalid, {"objects", "not valid YAML"}}});
  r.push_back({"object_name_parent_traversal",
               objectOf("objectName: ../../etc/passwd, secretPath: secret/data/app/db"),
               {kInvalid, {"objects[0].objectName", "\"..\""}}});
  r.push_back({"object_name_absolute",
               objectOf("objectName: /etc/passwd, secretPath: secret/data/app/db"),
               {kInvalid, {"objects[0].objectName", "relative"}}});
  r.push_back({"object_name_inner_traversal",
               objectOf("objectName: a/../../b, secretPath: secret/data/app/db"),
               {kInvalid, {"objects[0].objectName", "\"..\" segment"}}});
  r.push_back({"object_name_dotdot",
               objectOf("objectName: \"..\", secretPath: secret/data/app/db"),
               {kInvalid, {"objects[0].objectName", "\"..\""}}});
  r.push_back({"object_name_nul_byte",
               objectOf("objectName: \"a\\0b\", secretPath: secret/data/app/db"),
               {kInvalid, {"objects[0].objectName", "NUL"}}});
  r.push_back({"object_name_reserved_data_link",
               objectOf("objectName: ..data, secretPath: secret/data/app/db"),
               {kInvalid, {"objects[0].objectName", "reserved"}}});
  r.push_back(
      {"object_name_300_bytes",
       objectOf("objectName: " + std::string(300, 'n') + ", secretPath: secret/data/app/db"),
       {kInvalid, {"objects[0].objectName", "longer than 253"}}});
  r.push_back({"object_name_duplicate",
               objectsOf("- {objectName: a, secretPath: secret/data/app/db}\n"
                         "- {objectName: a, secretPath: secret/data/app/db}"),
               {kInvalid, {"objects[1].objectName"}}});
  r.push_back({"object_name_not_a_string",
               objectOf("objectName: [x], secretPath: secret/data/app/db"),
               {kInvalid, {"objects[0].objectName", "must be a string"}}});
  r.push_back({"secret_path_traversal",
               objectOf("objectName: a, secretPath: secret/data/app/../../sys/raw/core"),
               {kInvalid, {"object \"a\"", "secretPath", "\"..\" segment"}}});
  r.push_back({"secret_path_negative_version",
               objectOf("objectName: a, secretPath: \"secret/data/app/db?version=-1\""),
               {kInvalid, {"objects[0].secretPath", "version"}}});
  r.push_back({"secret_path_empty",
               objectOf("objectName: a, secretPath: \"\""),
               {kInvalid, {"objects[0].secretPath"}}});
  r.push_back({"file_permission_not_octal",
               objectOf("objectName: a, secretPath: secret/data/app/db, filePermission: \"0999\""),
               {kInvalid, {"objects[0].filePermission"}}});
  r.push_back({"file_permission_negative",
               objectOf("objectName: a, secretPath: secret/data/app/db, filePermission: \"-1\""),
               {kInvalid, {"objects[0].filePermission"}}});
  r.push_back({"file_permission_setuid",
               objectOf("objectName: a, secretPath: secret/data/app/db, filePermission: \"4777\""),
               {kInvalid, {"objects[0].filePermission"}}});
  r.push_back({"file_permission_beyond_uint64",
               objectOf("objectName: a, secretPath: secret/data/app/db, "
                        "filePermission: \"99999999999999999999999\""),
               {kInvalid, {"objects[0].filePermission"}}});
  r.push_back({"request_permission_negative",
               [](CsiHostileTest& t) {
                 v1alpha1::MountRequest request = t.objects(kGoodObjects);
                 request.set_permission("-420");
                 return request;
               },
               {kInvalid, {"permission", "\"-420\""}}});
  r.push_back({"request_permission_beyond_uint32",
               [](CsiHostileTest& t) {
                 v1alpha1::MountRequest request = t.objects(kGoodObjects);
                 request.set_permission("4294967716");
                 return request;
               },
               {kInvalid, {"permission"}}});
  r.push_back({"encoding_unknown",
               objectOf("objectName: a, secretPath: secret/data/app/db, secretKey: password, "
                        "encoding: rot13"),
               {kInvalid, {"objects[0].encoding", "rot13"}}});
  r.push_back({"value_not_base64_for_base64_encoding",
               objectOf("objectName: a, secretPath: secret/data/app/db, secretKey: password, "
                        "encoding: base64"),
               {kInvalid, {"\"a\"", "base64"}}});
  r.push_back({"value_of_5_mib",
               [](CsiHostileTest& t) {
                 EXPECT_TRUE(t.vault_
                                 ->putSecret("secret", "app/huge",
                                             {{"blob", "SENTINEL-" + std::string(5 << 20, 'b')}})
                                 .ok());
                 return t.object(
                     "objectName: a, secretPath: secret/data/app/huge, secretKey: blob");
               },
               {StatusCode::kResourceExhausted, {"\"a\"", "limit of one mount"}}});
  r.push_back({"kv_map_of_20k_keys",
               [](CsiHostileTest& t) {
                 nlohmann::json data = nlohmann::json::object();
                 const std::string value = "SENTINEL-" + std::string(220, 'm');
                 for (int i = 0; i < 20'000; ++i) data[absl::StrCat("k", i)] = value;
                 EXPECT_TRUE(t.vault_->putSecret("secret", "app/wide", data).ok());
                 return t.object("objectName: a, secretPath: secret/data/app/wide");
               },
               {StatusCode::kResourceExhausted, {"\"a\"", "limit of one mount"}}});
  r.push_back({"token_attribute_not_json",
               withTokens("{\"vault\":{\"token\":\"SENTINEL-TOKEN-JSON"),
               {kInvalid, {"serviceAccount.tokens"}}});
  r.push_back({"token_entry_not_an_object",
               withTokens(R"({"vault":"SENTINEL-TOKEN-STRING"})"),
               {kInvalid, {"serviceAccount.tokens", "vault"}}});
  r.push_back({"secrets_field_not_an_object",
               [](CsiHostileTest& t) {
                 v1alpha1::MountRequest request = t.objects(kGoodObjects);
                 request.set_secrets(R"(["SENTINEL-SECRETS"])");
                 return request;
               },
               {kInvalid, {"secrets", "JSON object of strings"}}});
  r.push_back(
      {"vault_address_file_url",
       [](CsiHostileTest& t) {
         return t.request({{"objects", kGoodObjects}, {"vaultAddress", "file:///etc/shadow"}});
       },
       {kInvalid, {"vaultAddress"}}});
  r.push_back({"skip_tls_verify_not_a_boolean",
               [](CsiHostileTest& t) {
                 return t.request({{"objects", kGoodObjects}, {"vaultSkipTLSVerify", "maybe"}});
               },
               {kInvalid, {"vaultSkipTLSVerify", "not a boolean"}}});
  return r;
}

// Validate that each hostile request fails with a named error free of the pod's token and of
// secret values, leaves the response empty, and that the next good mount still works.
TEST_P(CsiHostileTest, NamedErrorNoLeakProviderStillServes) {
  const CsiRow& row = GetParam();
  LogCapture log;
  v1alpha1::MountResponse response;
  const absl::Status status = mount(row.request(*this), &response);
  expectNamedError(status, row.expected, log.text(), {pod_.tokens.at("vault")});
  EXPECT_EQ(response.files_size(), 0);
  EXPECT_EQ(response.object_version_size(), 0);

  v1alpha1::MountResponse good;
  ASSERT_TRUE(mount(objects(kGoodObjects), &good).ok());
  ASSERT_EQ(good.files_size(), 1);
  EXPECT_EQ(good.files(0).path(), "db-password");
  EXPECT_EQ(good.files(0).contents(), kGoodValue);
}

INSTANTIATE_TEST_SUITE_P(Rows, CsiHostileTest, ::testing::ValuesIn(rows()), rowName<CsiRow>);

}  // namespace
}  // namespace secretsync::hostile
