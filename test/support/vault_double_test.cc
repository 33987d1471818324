#include "test/support/vault_double/vault_double.h"

#include <atomic>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/support/curl_test_client.h"
#include "test/support/manual_clock.h"
#include "test/support/test_pki.h"
#include "test/support/vault_double/jwt.h"
#include "test/support/vault_double/seed.h"

namespace secretsync::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr char kK8sKey[] = "k8s-test-signing-key";
constexpr char kJwtKey[] = "jwt-test-signing-key";
constexpr char kPermissionDenied[] = "1 error occurred:\n\t* permission denied\n\n";
constexpr char kNotFoundBody[] = "{\"errors\":[]}\n";

json parse(const CurlTestResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json() : j;
}

class VaultDoubleTest : public ::testing::Test {
 protected:
  void SetUp() override { startVault({}); }

  void startVault(VaultDoubleOptions options) {
    vault_.reset();
    options.clock = &clock_;
    auto v = VaultDouble::start(std::move(options));
    ASSERT_TRUE(v.ok()) << v.status();
    vault_ = std::move(*v);
  }

  CurlTestResponse call(const std::string& method, const std::string& path,
                        const std::string& token = "root", const std::string& body = "",
                        Headers headers = {}) {
    if (!token.empty()) {
      headers.emplace_back("X-Vault-Token", token);
    }
    return client_.request(method, vault_->baseUrl() + "/v1/" + path, headers, body);
  }

  CurlTestResponse put(const std::string& path, const json& data,
                       const std::string& token = "root") {
    return call("POST", path, token, json{{"data", data}}.dump());
  }

  std::string k8sJwt(const std::string& ns, const std::string& sa,
                     std::vector<std::string> aud = {"vault"},
                     std::chrono::seconds valid_for = std::chrono::hours(1),
                     const std::string& key = kK8sKey) {
    return mintServiceAccountJwt(key, ns, sa, aud, clock_.now() + valid_for, "uid-1234");
  }

  ManualClock clock_;
  std::unique_ptr<VaultDouble> vault_;
  CurlTestClient client_;
};

// --- Envelope and wire form (§0) ----------------------------------------------------------

TEST_F(VaultDoubleTest, ReadEnvelopeIsExact) {
  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"user", "u"}, {"port", 5432}}).ok());
  auto r = call("GET", "secret/data/app/db");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_THAT(r.body, StartsWith("{\"request_id\":\""));
  EXPECT_EQ(r.body.back(), '\n');
  std::regex shape(
      R"(\{"request_id":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",)"
      R"("lease_id":"","renewable":false,"lease_duration":0,"data":\{.*\},"wrap_info":null,)"
      R"("warnings":null,"auth":null,"mount_type":"kv"\}\n)");
  EXPECT_TRUE(std::regex_match(r.body, shape)) << r.body;
  json j = parse(r);
  EXPECT_EQ(j["data"]["data"], (json{{"user", "u"}, {"port", 5432}}));
  const json& meta = j["data"]["metadata"];
  // ManualClock starts at exactly 1'800'000'000 s: no fractional part.
  EXPECT_EQ(meta["created_time"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(meta["deletion_time"], "");
  EXPECT_EQ(meta["destroyed"], false);
  EXPECT_EQ(meta["version"], 1);
  EXPECT_TRUE(meta["custom_metadata"].is_null());
}

TEST_F(VaultDoubleTest, TimestampsAreRfc3339NanoTrimmed) {
  clock_.advance(std::chrono::nanoseconds(123'450'000));
  put("secret/data/t", {{"a", "b"}});
  auto j = parse(call("GET", "secret/data/t"));
  EXPECT_EQ(j["data"]["metadata"]["created_time"], "2027-01-15T08:00:00.12345Z");
}

TEST_F(VaultDoubleTest, MountTypeFieldIsSwitchable) {
  vault::WireSettings w;
  w.mount_type_field = false;
  vault_->setWireSettings(w);
  put("secret/data/x", {{"a", "b"}});
  auto r = call("GET", "secret/data/x");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(parse(r).contains("mount_type"));
}

TEST_F(VaultDoubleTest, GoHtmlEscapingInStrings) {
  put("secret/data/x", {{"v", "<a&b>"}});
  auto r = call("GET", "secret/data/x");
  EXPECT_THAT(r.body, HasSubstr(R"("v":"\u003ca\u0026b\u003e")"));
  EXPECT_EQ(parse(r)["data"]["data"]["v"], "<a&b>");
}

TEST_F(VaultDoubleTest, UnknownMethodIs405AndBadJsonIs400) {
  auto r = call("FOO", "secret/data/x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, kNotFoundBody);
  r = call("POST", "secret/data/x", "root", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"error parsing JSON"}));
  r = call("GET", "secret/data/x?list=banana");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, kNotFoundBody);
  r = client_.request("GET", vault_->baseUrl() + "/not-v1");
  EXPECT_EQ(r.status, 404);
}

TEST_F(VaultDoubleTest, FormBodyIsAccepted) {
  ASSERT_TRUE(vault_->mountKv("kv1", 1).ok());
  auto r = call("POST", "kv1/form", "root", "user=alice&pass=a%26b",
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(vault_->readSecret("kv1", "form"), (json{{"user", "alice"}, {"pass", "a&b"}}));
}

// --- KV v2 (§1) ---------------------------------------------------------------------------

TEST_F(VaultDoubleTest, WriteReturns200WithVersionMetadata) {
  auto r = put("secret/data/app", {{"k", "v1"}});
  ASSERT_EQ(r.status, 200);
  json d = parse(r)["data"];
  EXPECT_EQ(d["version"], 1);
  EXPECT_EQ(d["deletion_time"], "");
  EXPECT_EQ(d["destroyed"], false);
  EXPECT_TRUE(d["custom_metadata"].is_null());
  EXPECT_FALSE(d.contains("data"));
  EXPECT_EQ(parse(put("secret/data/app", {{"k", "v2"}}))["data"]["version"], 2);
  // PUT is a synonym of POST.
  r = call("PUT", "secret/data/app", "root", R"({"data":{"k":"v3"}})");
  EXPECT_EQ(parse(r)["data"]["version"], 3);
}

TEST_F(VaultDoubleTest, ReadVersions) {
  put("secret/data/app", {{"k", "v1"}});
  put("secret/data/app", {{"k", "v2"}, {"nested", {{"n", 1}}}, {"flag", true}});
  EXPECT_EQ(parse(call("GET", "secret/data/app"))["data"]["data"]["k"], "v2");
  EXPECT_EQ(parse(call("GET", "secret/data/app"))["data"]["data"]["nested"]["n"], 1);
  EXPECT_EQ(parse(call("GET", "secret/data/app?version=1"))["data"]["data"]["k"], "v1");
  EXPECT_EQ(parse(call("GET", "secret/data/app?version=0"))["data"]["data"]["k"], "v2");
  auto r = call("GET", "secret/data/app?version=3");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, kNotFoundBody);
  EXPECT_EQ(call("GET", "secret/data/app?version=abc").status, 400);
}

TEST_F(VaultDoubleTest, MissingKeyIsBare404) {
  auto r = call("GET", "secret/data/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, kNotFoundBody);
  EXPECT_EQ(r.header("content-type"), "application/json");
  // Metadata only (current_version 0) reads as missing too.
  ASSERT_TRUE(vault_->setCustomMetadata("secret", "meta-only", {{"a", "b"}}).ok());
  EXPECT_EQ(call("GET", "secret/data/meta-only").body, kNotFoundBody);
}

TEST_F(VaultDoubleTest, SoftDeletedReadIs404WithFullEnvelope) {
  put("secret/data/app", {{"k", "v1"}});
  clock_.advance(std::chrono::seconds(5));
  auto del = call("DELETE", "secret/data/app");
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(del.body, "");
  EXPECT_EQ(del.header("content-type"), "application/json");
  auto r = call("GET", "secret/data/app");
  EXPECT_EQ(r.status, 404);
  json j = parse(r);
  EXPECT_FALSE(j.contains("errors"));
  EXPECT_TRUE(j.contains("request_id"));
  EXPECT_TRUE(j["data"]["data"].is_null());
  EXPECT_EQ(j["data"]["metadata"]["deletion_time"], "2027-01-15T08:00:05Z");
  EXPECT_EQ(j["data"]["metadata"]["destroyed"], false);
  EXPECT_EQ(j["data"]["metadata"]["version"], 1);
  EXPECT_TRUE(j["warnings"].is_null());
  // Deleting again is a no-op 204; undelete restores.
  EXPECT_EQ(call("DELETE", "secret/data/app").status, 204);
  EXPECT_EQ(call("POST", "secret/undelete/app", "root", R"({"versions":[1]})").status, 204);
  EXPECT_EQ(parse(call("GET", "secret/data/app"))["data"]["data"]["k"], "v1");
  // Deleting a missing key is fine.
  EXPECT_EQ(call("DELETE", "secret/data/never").status, 204);
}

TEST_F(VaultDoubleTest, DeleteUndeleteDestroyVersions) {
  put("secret/data/app", {{"k", "v1"}});
  put("secret/data/app", {{"k", "v2"}});
  put("secret/data/app", {{"k", "v3"}});
  auto r = call("POST", "secret/delete/app", "root", R"({"versions":[1,2]})");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(call("GET", "secret/data/app?version=1").status, 404);
  EXPECT_EQ(call("GET", "secret/data/app?version=3").status, 200);
  EXPECT_EQ(call("POST", "secret/undelete/app", "root", R"({"versions":"1"})").status, 204);
  EXPECT_EQ(call("GET", "secret/data/app?version=1").status, 200);
  EXPECT_EQ(call("PUT", "secret/destroy/app", "root", R"({"versions":[3, 99]})").status, 204);
  r = call("GET", "secret/data/app");
  EXPECT_EQ(r.status, 404);
  json j = parse(r);
  EXPECT_FALSE(j.contains("errors"));
  EXPECT_TRUE(j["data"]["data"].is_null());
  EXPECT_EQ(j["data"]["metadata"]["destroyed"], true);
  EXPECT_EQ(j["data"]["metadata"]["deletion_time"], "");
  // Destroyed versions cannot be undeleted.
  EXPECT_EQ(call("POST", "secret/undelete/app", "root", R"({"versions":[3]})").status, 204);
  EXPECT_EQ(call("GET", "secret/data/app").status, 404);

  r = call("POST", "secret/delete/app", "root", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"No version number provided"}));
  r = call("POST", "secret/undelete/app", "root", R"({"versions":[]})");
  EXPECT_EQ(parse(r)["errors"], json({"No version number provided"}));
  r = call("POST", "secret/destroy/app", "root", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"no version number provided"}));
  EXPECT_EQ(call("POST", "secret/delete/missing", "root", R"({"versions":[1]})").status, 204);
}

TEST_F(VaultDoubleTest, MaxVersionsPrunesAtTen) {
  for (int i = 1; i <= 12; ++i) {
    put("secret/data/app", {{"i", i}});
  }
  json m = parse(call("GET", "secret/metadata/app"))["data"];
  EXPECT_EQ(m["current_version"], 12);
  EXPECT_EQ(m["oldest_version"], 3);
  EXPECT_EQ(m["versions"].size(), 10u);
  EXPECT_TRUE(m["versions"].contains("3"));
  EXPECT_FALSE(m["versions"].contains("2"));
  auto r = call("GET", "secret/data/app?version=2");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, kNotFoundBody);
  // A key-level max_versions lower than the default does not lower it (the larger wins), a
  // higher one raises it; the mount config too.
  ASSERT_TRUE(vault_->setKvConfig("secret", {.max_versions = 3}).ok());
  for (int i = 1; i <= 5; ++i) {
    put("secret/data/small", {{"i", i}});
  }
  EXPECT_EQ(parse(call("GET", "secret/metadata/small"))["data"]["oldest_version"], 3);
}

TEST_F(VaultDoubleTest, CheckAndSet) {
  auto r = call("POST", "secret/data/c", "root", R"({"data":{"a":1},"options":{"cas":0}})");
  EXPECT_EQ(r.status, 200);
  r = call("POST", "secret/data/c", "root", R"({"data":{"a":2},"options":{"cas":0}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"],
            json({"check-and-set parameter did not match the current version"}));
  r = call("POST", "secret/data/c", "root", R"({"data":{"a":2},"options":{"cas":"1"}})");
  EXPECT_EQ(r.status, 200);
  r = call("POST", "secret/data/c", "root", R"({"data":{"a":2},"options":{"cas":"x"}})");
  EXPECT_EQ(parse(r)["errors"], json({"error parsing check-and-set parameter"}));
  EXPECT_EQ(call("POST", "secret/metadata/c", "root", R"({"cas_required":true})").status, 204);
  r = call("POST", "secret/data/c", "root", R"({"data":{"a":3}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"check-and-set parameter required for this call"}));
  // A soft-deleted current version still counts for CAS.
  EXPECT_EQ(call("DELETE", "secret/data/c").status, 204);
  r = call("POST", "secret/data/c", "root", R"({"data":{"a":3},"options":{"cas":2}})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["data"]["version"], 3);
  r = call("POST", "secret/data/c", "root", R"({"options":{"cas":3}})");
  EXPECT_EQ(parse(r)["errors"], json({"no data provided"}));
}

TEST_F(VaultDoubleTest, PatchIsMergePatch) {
  Headers merge = {{"Content-Type", "application/merge-patch+json"}};
  auto r = call("PATCH", "secret/data/p", "root", R"({"data":{"a":1}})");
  EXPECT_EQ(r.status, 415);
  // libcurl sends its form content type by default.
  EXPECT_THAT(parse(r)["errors"][0].get<std::string>(),
              StartsWith("PATCH requires Content-Type of application/merge-patch+json, provided "));
  r = call("PATCH", "secret/data/p", "root", R"({"data":{"a":1}})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(parse(r)["errors"], json({"PATCH requires Content-Type of "
                                      "application/merge-patch+json, provided application/json"}));
  r = call("PATCH", "secret/data/p", "root", R"({"data":{"a":1}})", merge);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("content-type"), "application/json");

  put("secret/data/p", {{"a", 1}, {"b", 2}, {"nested", {{"x", 1}, {"y", 2}}}});
  r = call("PATCH", "secret/data/p", "root",
           R"({"data":{"b":null,"c":3,"nested":{"y":null,"z":3}}})",
           {{"Content-Type", "application/merge-patch+json; charset=utf-8"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["data"]["version"], 2);
  EXPECT_EQ(parse(call("GET", "secret/data/p"))["data"]["data"],
            (json{{"a", 1}, {"c", 3}, {"nested", {{"x", 1}, {"z", 3}}}}));

  call("DELETE", "secret/data/p");
  r = call("PATCH", "secret/data/p", "root", R"({"data":{"a":9}})", merge);
  EXPECT_EQ(r.status, 404);
  json j = parse(r);
  EXPECT_FALSE(j.contains("errors"));
  EXPECT_EQ(j["data"]["version"], 2);  // flat, not data/metadata
  EXPECT_NE(j["data"]["deletion_time"], "");
}

TEST_F(VaultDoubleTest, MetadataReadWritePatchDelete) {
  put("secret/data/m", {{"a", 1}});
  put("secret/data/m", {{"a", 2}});
  auto r = call("GET", "secret/metadata/m");
  ASSERT_EQ(r.status, 200);
  json d = parse(r)["data"];
  EXPECT_EQ(d["cas_required"], false);
  EXPECT_EQ(d["current_version"], 2);
  EXPECT_EQ(d["delete_version_after"], "0s");
  EXPECT_EQ(d["max_versions"], 0);
  EXPECT_EQ(d["oldest_version"], 0);
  EXPECT_TRUE(d["custom_metadata"].is_null());
  EXPECT_EQ(d["versions"]["1"], (json{{"created_time", "2027-01-15T08:00:00Z"},
                                      {"deletion_time", ""},
                                      {"destroyed", false}}));
  EXPECT_TRUE(d.contains("created_time"));
  EXPECT_TRUE(d.contains("updated_time"));

  r = call(
      "POST", "secret/metadata/m", "root",
      R"({"custom_metadata":{"owner":"team-a"},"max_versions":5,"delete_version_after":"3h25m19s"})");
  EXPECT_EQ(r.status, 204);
  d = parse(call("GET", "secret/metadata/m"))["data"];
  EXPECT_EQ(d["custom_metadata"], (json{{"owner", "team-a"}}));
  EXPECT_EQ(d["max_versions"], 5);
  EXPECT_EQ(d["delete_version_after"], "3h25m19s");
  // The data read carries custom_metadata too.
  EXPECT_EQ(parse(call("GET", "secret/data/m"))["data"]["metadata"]["custom_metadata"]["owner"],
            "team-a");

  r = call("PATCH", "secret/metadata/m", "root", R"({"custom_metadata":{"env":"prod"}})",
           {{"Content-Type", "application/merge-patch+json"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(parse(call("GET", "secret/metadata/m"))["data"]["custom_metadata"],
            (json{{"env", "prod"}, {"owner", "team-a"}}));
  r = call("PATCH", "secret/metadata/missing", "root", R"({"max_versions":1})",
           {{"Content-Type", "application/merge-patch+json"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "");

  r = call("POST", "secret/metadata/m", "root",
           json{{"custom_metadata", {{std::string(200, 'k'), "v"}}}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(parse(r)["errors"][0].get<std::string>(),
              StartsWith("custom_metadata validation failed: 1 error occurred:"));

  // Metadata can exist without data.
  EXPECT_EQ(call("POST", "secret/metadata/empty", "root", R"({"max_versions":2})").status, 204);
  EXPECT_EQ(parse(call("GET", "secret/metadata/empty"))["data"]["current_version"], 0);

  EXPECT_EQ(call("DELETE", "secret/metadata/m").status, 204);
  EXPECT_EQ(call("GET", "secret/metadata/m").body, kNotFoundBody);
  EXPECT_EQ(call("GET", "secret/data/m").body, kNotFoundBody);
  EXPECT_EQ(call("DELETE", "secret/metadata/m").status, 204);
}

TEST_F(VaultDoubleTest, ListByVerbAndQuery) {
  put("secret/data/dir/a", {{"x", 1}});
  put("secret/data/dir/b/c", {{"x", 1}});
  put("secret/data/dir/b", {{"x", 1}});
  put("secret/data/top", {{"x", 1}});
  auto by_verb = call("LIST", "secret/metadata/dir");
  auto by_query = call("GET", "secret/metadata/dir/?list=true");
  ASSERT_EQ(by_verb.status, 200);
  EXPECT_EQ(parse(by_verb)["data"]["keys"], json({"a", "b", "b/"}));
  EXPECT_EQ(parse(by_query)["data"], parse(by_verb)["data"]);
  EXPECT_EQ(parse(call("LIST", "secret/metadata/"))["data"]["keys"], json({"dir/", "top"}));
  EXPECT_EQ(parse(call("GET", "secret/metadata?list=1"))["data"]["keys"], json({"dir/", "top"}));
  auto empty = call("LIST", "secret/metadata/nothing/");
  EXPECT_EQ(empty.status, 404);
  EXPECT_EQ(empty.body, kNotFoundBody);
  EXPECT_EQ(call("LIST", "secret/metadata/top").status, 404);  // a leaf
  call("DELETE", "secret/data/top");
  EXPECT_EQ(parse(call("GET", "secret/metadata/?list=true&exclude_deleted=true"))["data"]["keys"],
            json({"dir/"}));
}

TEST_F(VaultDoubleTest, InvalidPathsGetWarnings) {
  auto r = call("GET", "secret/foo");
  EXPECT_EQ(r.status, 404);
  json j = parse(r);
  EXPECT_FALSE(j.contains("errors"));
  EXPECT_TRUE(j["data"].is_null());
  EXPECT_EQ(j["warnings"], json({vault::invalidKvV2PathWarning("get")}));
  EXPECT_THAT(j["warnings"][0].get<std::string>(), HasSubstr("use 'vault kv get' for this"));
  EXPECT_THAT(parse(call("LIST", "secret/data/x"))["warnings"][0].get<std::string>(),
              HasSubstr("'vault kv list'"));
  EXPECT_THAT(
      parse(call("POST", "secret/foo", "root", R"({"a":1})"))["warnings"][0].get<std::string>(),
      HasSubstr("'vault kv put'"));
  EXPECT_THAT(parse(call("DELETE", "secret/foo"))["warnings"][0].get<std::string>(),
              HasSubstr("'vault kv delete'"));
  r = call("GET", "secret/data");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(parse(r)["warnings"],
            json({"Non-listing operations on the root of a K/V v2 mount are not supported."}));
}

TEST_F(VaultDoubleTest, SubkeysAndConfig) {
  put("secret/data/s", {{"a", 1}, {"b", {{"c", 2}, {"d", {{"e", 3}}}}}});
  EXPECT_EQ(parse(call("GET", "secret/subkeys/s"))["data"]["subkeys"],
            (json{{"a", nullptr}, {"b", {{"c", nullptr}, {"d", {{"e", nullptr}}}}}}));
  EXPECT_EQ(parse(call("GET", "secret/subkeys/s?depth=1"))["data"]["subkeys"],
            (json{{"a", nullptr}, {"b", nullptr}}));
  EXPECT_EQ(parse(call("GET", "secret/config"))["data"],
            (json{{"cas_required", false}, {"delete_version_after", "0s"}, {"max_versions", 0}}));
  EXPECT_EQ(call("POST", "secret/config", "root", R"({"max_versions":4})").status, 204);
  EXPECT_EQ(parse(call("GET", "secret/config"))["data"]["max_versions"], 4);
}

TEST_F(VaultDoubleTest, DeleteVersionAfterInTheFutureStillReads) {
  ASSERT_TRUE(
      vault_->setKeySettings("secret", "t", {.delete_version_after = std::chrono::hours(1)}).ok());
  put("secret/data/t", {{"a", 1}});
  auto r = call("GET", "secret/data/t");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["data"]["metadata"]["deletion_time"], "2027-01-15T09:00:00Z");
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(call("GET", "secret/data/t").status, 404);
}

TEST_F(VaultDoubleTest, MultiSegmentMount) {
  ASSERT_TRUE(vault_->mountKv("team/kv", 2).ok());
  EXPECT_FALSE(vault_->mountKv("team/kv/sub", 2).ok());
  EXPECT_FALSE(vault_->mountKv("secret", 1).ok());
  EXPECT_EQ(put("team/kv/data/billing/stripe", {{"k", "v"}}).status, 200);
  EXPECT_EQ(parse(call("GET", "team/kv/data/billing/stripe"))["data"]["data"]["k"], "v");
  EXPECT_EQ(parse(call("LIST", "team/kv/metadata/"))["data"]["keys"], json({"billing/"}));
  auto pre = parse(call("GET", "sys/internal/ui/mounts/team/kv/billing/stripe"));
  EXPECT_EQ(pre["data"]["path"], "team/kv/");
  EXPECT_EQ(pre["data"]["options"]["version"], "2");
  EXPECT_EQ(pre["data"]["type"], "kv");
}

TEST_F(VaultDoubleTest, KvVersionOne) {
  ASSERT_TRUE(vault_->mountKv("kv1", 1).ok());
  auto r = call("POST", "kv1/app/db", "root", R"({"user":"u","pass":"p"})");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  r = call("GET", "kv1/app/db");
  ASSERT_EQ(r.status, 200);
  json j = parse(r);
  EXPECT_EQ(j["data"], (json{{"user", "u"}, {"pass", "p"}}));
  EXPECT_EQ(j["lease_duration"], 2764800);
  EXPECT_EQ(j["lease_id"], "");
  EXPECT_EQ(j["renewable"], false);
  EXPECT_EQ(j["mount_type"], "kv");
  call("POST", "kv1/app/ttl", "root", R"({"ttl":"1h","v":"x"})");
  EXPECT_EQ(parse(call("GET", "kv1/app/ttl"))["lease_duration"], 3600);
  EXPECT_EQ(parse(call("LIST", "kv1/app"))["data"]["keys"], json({"db", "ttl"}));
  EXPECT_EQ(parse(call("LIST", "kv1/"))["data"]["keys"], json({"app/"}));
  EXPECT_EQ(call("GET", "kv1/missing").body, kNotFoundBody);
  EXPECT_EQ(call("LIST", "kv1/none/").status, 404);
  EXPECT_EQ(call("POST", "kv1/empty", "root", "{}").status, 400);
  EXPECT_EQ(call("DELETE", "kv1/app/db").status, 204);
  EXPECT_EQ(call("GET", "kv1/app/db").status, 404);
  auto pre = parse(call("GET", "sys/internal/ui/mounts/kv1/app"));
  EXPECT_EQ(pre["data"]["options"]["version"], "1");
  EXPECT_EQ(pre["data"]["path"], "kv1/");
}

// --- Namespaces ---------------------------------------------------------------------------

TEST_F(VaultDoubleTest, NamespaceHeaderSelectsMountsAndIsEchoed) {
  ASSERT_TRUE(vault_->mountKv("secret", 2, "team-a").ok());
  ASSERT_TRUE(vault_->putSecret("secret", "x", {{"ns", "team-a"}}, "team-a").ok());
  ASSERT_TRUE(vault_->putSecret("secret", "x", {{"ns", "root"}}).ok());
  auto r = call("GET", "secret/data/x", "root", "", {{"X-Vault-Namespace", "team-a/"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["data"]["data"]["ns"], "team-a");
  EXPECT_EQ(r.header("x-vault-namespace"), "team-a/");
  r = call("GET", "secret/data/x");
  EXPECT_EQ(parse(r)["data"]["data"]["ns"], "root");
  EXPECT_FALSE(r.hasHeader("x-vault-namespace"));
  EXPECT_EQ(call("GET", "secret/data/x", "root", "", {{"X-Vault-Namespace", "nope"}}).status, 403);
  // Policies see namespace-prefixed paths.
  vault_->putPolicy("team-a-read", {{"team-a/secret/data/*", {vault::Capability::kRead}}});
  std::string token = vault_->createToken({"team-a-read"});
  EXPECT_EQ(call("GET", "secret/data/x", token, "", {{"X-Vault-Namespace", "team-a"}}).status, 200);
  EXPECT_EQ(call("GET", "secret/data/x", token).status, 403);
  EXPECT_EQ(parse(call("GET", "sys/internal/ui/mounts/secret/x", token, "",
                       {{"X-Vault-Namespace", "team-a"}}))["data"]["path"],
            "team-a/secret/");
  // sys/health refuses a namespace.
  r = call("GET", "sys/health", "", "", {{"X-Vault-Namespace", "team-a"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"operation unavailable in namespaces"}));
}

// --- Tokens (§2.1–2.3) --------------------------------------------------------------------

TEST_F(VaultDoubleTest, TokenHeaders) {
  put("secret/data/x", {{"a", 1}});
  EXPECT_EQ(call("GET", "secret/data/x", "", "", {{"Authorization", "Bearer root"}}).status, 200);
  EXPECT_EQ(call("GET", "secret/data/x", "", "", {{"Authorization", "Basic root"}}).status, 403);
  // X-Vault-Token takes precedence.
  EXPECT_EQ(call("GET", "secret/data/x", "bogus", "", {{"Authorization", "Bearer root"}}).status,
            403);
  auto r = call("GET", "secret/data/x", "");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(parse(r)["errors"], json({kPermissionDenied}));
  r = call("GET", "secret/data/x", "hvs.unknown");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(parse(r)["errors"],
            json({"2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"}));
  vault::WireSettings w;
  w.multierror = false;
  vault_->setWireSettings(w);
  EXPECT_EQ(parse(call("GET", "secret/data/x", "hvs.unknown"))["errors"],
            json({"permission denied", "invalid token"}));
  w.invalid_token_message = false;
  vault_->setWireSettings(w);
  EXPECT_EQ(parse(call("GET", "secret/data/x", "hvs.unknown"))["errors"],
            json({"permission denied"}));
}

TEST_F(VaultDoubleTest, LookupSelf) {
  std::string token = vault_->createToken({"app"}, std::chrono::hours(1), std::chrono::hours(24));
  auto r = call("GET", "auth/token/lookup-self", token);
  ASSERT_EQ(r.status, 200) << r.body;
  json d = parse(r)["data"];
  EXPECT_EQ(d["id"], token);
  EXPECT_THAT(token, StartsWith("hvs."));
  EXPECT_EQ(d["policies"], json({"app", "default"}));
  EXPECT_EQ(d["ttl"], 3600);
  EXPECT_EQ(d["creation_ttl"], 3600);
  EXPECT_EQ(d["explicit_max_ttl"], 86400);
  EXPECT_EQ(d["renewable"], true);
  EXPECT_EQ(d["type"], "service");
  EXPECT_EQ(d["expire_time"], "2027-01-15T09:00:00Z");
  EXPECT_EQ(d["creation_time"], 1800000000);
  EXPECT_TRUE(d["meta"].is_null());
  EXPECT_EQ(parse(r)["mount_type"], "token");
  clock_.advance(std::chrono::seconds(600));
  EXPECT_EQ(parse(call("GET", "auth/token/lookup-self", token))["data"]["ttl"], 3000);

  json root = parse(call("GET", "auth/token/lookup-self"))["data"];
  EXPECT_EQ(root["policies"], json({"root"}));
  EXPECT_EQ(root["ttl"], 0);
  EXPECT_TRUE(root["expire_time"].is_null());
  EXPECT_FALSE(root.contains("renewable"));
  EXPECT_FALSE(root.contains("issue_time"));
}

TEST_F(VaultDoubleTest, RenewSelfCapsAtMaxTtl) {
  std::string token =
      vault_->createToken({"app"}, std::chrono::minutes(10), std::chrono::minutes(30));
  clock_.advance(std::chrono::minutes(5));
  auto r = call("POST", "auth/token/renew-self", token, R"({"increment":"10m"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = parse(r);
  EXPECT_TRUE(j["data"].is_null());
  EXPECT_TRUE(j["warnings"].is_null());
  EXPECT_EQ(j["auth"]["client_token"], token);
  EXPECT_EQ(j["auth"]["lease_duration"], 600);
  EXPECT_EQ(j["auth"]["renewable"], true);
  EXPECT_EQ(j["auth"]["policies"], json({"app", "default"}));
  EXPECT_EQ(j["auth"]["token_type"], "service");
  clock_.advance(std::chrono::minutes(9));
  // 16 minutes left of the max TTL; ask for an hour.
  r = call("POST", "auth/token/renew-self", token, R"({"increment":3600})");
  j = parse(r);
  EXPECT_EQ(j["auth"]["lease_duration"], 960);
  EXPECT_EQ(j["warnings"], json({"TTL of \"1h0m0s\" exceeded the effective max_ttl of "
                                 "\"16m0s\"; TTL value is capped accordingly"}));
  // No increment: the creation TTL.
  clock_.advance(std::chrono::minutes(1));
  EXPECT_EQ(parse(call("POST", "auth/token/renew-self", token))["auth"]["lease_duration"], 600);
  clock_.advance(std::chrono::seconds(599));
  EXPECT_TRUE(vault_->tokenValid(token));
  clock_.advance(std::chrono::seconds(1));
  r = call("POST", "auth/token/renew-self", token);
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(parse(r)["errors"][0].get<std::string>(), HasSubstr("invalid token"));

  std::string fixed = vault_->createToken({"app"}, std::chrono::minutes(10),
                                          std::chrono::minutes(0), /*renewable=*/false);
  r = call("POST", "auth/token/renew-self", fixed);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"lease is not renewable"}));
  r = call("POST", "auth/token/renew-self");  // root
  EXPECT_EQ(parse(r)["errors"], json({"lease is not renewable"}));
}

TEST_F(VaultDoubleTest, RenewSelfPastMaxTtl) {
  vault::TokenSpec spec;
  spec.policies = {"app"};
  spec.ttl = std::chrono::minutes(10);
  spec.max_ttl = std::chrono::minutes(10);
  std::string token = vault_->createTokenWithSpec(spec);
  clock_.advance(std::chrono::minutes(9));
  auto r = call("POST", "auth/token/renew-self", token, R"({"increment":"1h"})");
  EXPECT_EQ(parse(r)["auth"]["lease_duration"], 60);
  EXPECT_EQ(parse(r)["warnings"].size(), 1u);
}

TEST_F(VaultDoubleTest, RevokeSelfAndCreate) {
  auto r = call("POST", "auth/token/create", "root",
                R"({"policies":["app"],"ttl":"1h","meta":{"who":"test"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  json auth = parse(r)["auth"];
  std::string token = auth["client_token"];
  EXPECT_EQ(auth["policies"], json({"app", "default"}));
  EXPECT_EQ(auth["lease_duration"], 3600);
  EXPECT_EQ(auth["metadata"], (json{{"who", "test"}}));
  EXPECT_TRUE(auth.contains("accessor"));
  EXPECT_TRUE(auth["mfa_requirement"].is_null());
  EXPECT_EQ(call("GET", "auth/token/lookup-self", token).status, 200);
  r = call("POST", "auth/token/revoke-self", token);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(call("GET", "auth/token/lookup-self", token).status, 403);
  EXPECT_FALSE(vault_->tokenValid(token));
}

TEST_F(VaultDoubleTest, TokenExpiresWithManualClock) {
  put("secret/data/x", {{"a", 1}});
  vault_->putPolicy("read", {{"secret/data/*", {vault::Capability::kRead}}});
  std::string token = vault_->createToken({"read"}, std::chrono::seconds(30));
  EXPECT_EQ(call("GET", "secret/data/x", token).status, 200);
  clock_.advance(std::chrono::seconds(30));
  auto r = call("GET", "secret/data/x", token);
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, HasSubstr("invalid token"));
}

// --- ACL policies -------------------------------------------------------------------------

TEST_F(VaultDoubleTest, AclGlobsAndPriority) {
  for (const char* p : {"app/a", "app/b", "app/secret", "other/x", "team1/app/db", "team2/app/x"}) {
    put(absl::StrCat("secret/data/", p), {{"v", p}});
  }
  ASSERT_TRUE(vault_
                  ->putPolicyHcl("app", R"(
    # comment
    path "secret/data/app/*" { capabilities = ["read", "update", "create"] }
    path "secret/data/app/secret" { capabilities = ["deny"] }
    path "secret/data/+/app/*" { capabilities = ["read"] }
    path "secret/metadata/app/" { capabilities = ["list"] }  // list the folder
    path "secret/data/other/*" { capabilities = ["patch"] }
  )")
                  .ok());
  std::string t = vault_->createToken({"app"});
  EXPECT_EQ(call("GET", "secret/data/app/a", t).status, 200);
  EXPECT_EQ(call("GET", "secret/data/app/secret", t).status, 403);
  EXPECT_EQ(call("GET", "secret/data/team1/app/db", t).status, 200);
  EXPECT_EQ(call("GET", "secret/data/x/y/app/db", t).status, 403);  // + is one segment
  EXPECT_EQ(call("GET", "secret/data/other/x", t).status, 403);
  EXPECT_EQ(call("LIST", "secret/metadata/app", t).status, 200);
  EXPECT_EQ(call("GET", "secret/metadata/app?list=true", t).status, 200);
  EXPECT_EQ(call("LIST", "secret/metadata/", t).status, 403);
  EXPECT_EQ(call("DELETE", "secret/data/app/a", t).status, 403);
  EXPECT_EQ(put("secret/data/app/new", {{"v", 1}}, t).status, 200);
  EXPECT_EQ(call("PATCH", "secret/data/other/x", t, R"({"data":{"w":1}})",
                 {{"Content-Type", "application/merge-patch+json"}})
                .status,
            200);
  auto r = call("GET", "secret/data/app/secret", t);
  EXPECT_EQ(parse(r)["errors"], json({kPermissionDenied}));
  // A token with only the default policy can look itself up but read nothing.
  std::string d = vault_->createToken({});
  EXPECT_EQ(call("GET", "auth/token/lookup-self", d).status, 200);
  EXPECT_EQ(call("GET", "secret/data/app/a", d).status, 403);
  // Unknown paths: 403 for non-root (ACL first), 404 no handler for root.
  EXPECT_EQ(call("GET", "nomount/x", t).status, 403);
  r = call("GET", "nomount/x");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(parse(r)["errors"],
            json({"no handler for route \"nomount/x\". route entry not found."}));
}

TEST_F(VaultDoubleTest, CreateVersusUpdateCapability) {
  vault_->putPolicy("create-only", {{"secret/data/*", {vault::Capability::kCreate}}});
  vault_->putPolicy("update-only", {{"secret/data/*", {vault::Capability::kUpdate}}});
  std::string c = vault_->createToken({"create-only"});
  std::string u = vault_->createToken({"update-only"});
  EXPECT_EQ(put("secret/data/new", {{"a", 1}}, u).status, 403);
  EXPECT_EQ(put("secret/data/new", {{"a", 1}}, c).status, 200);
  EXPECT_EQ(put("secret/data/new", {{"a", 2}}, c).status, 403);
  EXPECT_EQ(put("secret/data/new", {{"a", 2}}, u).status, 200);
}

TEST_F(VaultDoubleTest, PolicyEndpoints) {
  auto r =
      call("PUT", "sys/policies/acl/reader", "root",
           json{{"policy", "path \"secret/data/*\" {\n  capabilities = [\"read\"]\n}\n"}}.dump());
  EXPECT_EQ(r.status, 204);
  r = call("GET", "sys/policies/acl/reader");
  EXPECT_EQ(parse(r)["data"]["name"], "reader");
  EXPECT_THAT(parse(r)["data"]["policy"].get<std::string>(), HasSubstr("secret/data/*"));
  EXPECT_THAT(parse(call("LIST", "sys/policies/acl"))["data"]["keys"],
              ::testing::Contains("reader"));
  put("secret/data/x", {{"a", 1}});
  EXPECT_EQ(call("GET", "secret/data/x", vault_->createToken({"reader"})).status, 200);
  r = call("PUT", "sys/policies/acl/bad", "root",
           R"({"policy":"path \"x\" { capabilities = [\"fly\"] }"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(call("DELETE", "sys/policies/acl/reader").status, 204);
  EXPECT_EQ(call("GET", "sys/policies/acl/reader").status, 404);
  EXPECT_EQ(call("GET", "sys/policies/acl/reader", vault_->createToken({})).status, 403);
}

// --- Kubernetes auth (§2.4) ---------------------------------------------------------------

class KubernetesAuthTest : public VaultDoubleTest {
 protected:
  void SetUp() override {
    VaultDoubleTest::SetUp();
    for (const char* mount : {"kubernetes", "kubernetes_local"}) {
      vault_->enableKubernetesAuth(mount, {.jwt_hs256_key = kK8sKey});
      ASSERT_TRUE(
          vault_
              ->addKubernetesRole(mount, {.name = "app",
                                          .bound_service_account_names = {"app", "web-*"},
                                          .bound_service_account_namespaces = {"default", "apps-*"},
                                          .audience = "vault",
                                          .policies = {"app-read"},
                                          .token_ttl = std::chrono::hours(1),
                                          .token_max_ttl = std::chrono::hours(24)})
              .ok());
    }
  }
  CurlTestResponse login(const std::string& mount, const json& body) {
    return call("POST", absl::StrCat("auth/", mount, "/login"), "", body.dump());
  }
};

TEST_F(KubernetesAuthTest, LoginIssuesToken) {
  auto r = login("kubernetes", {{"role", "app"}, {"jwt", k8sJwt("default", "app")}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = parse(r);
  EXPECT_TRUE(j["data"].is_null());
  EXPECT_EQ(j["lease_duration"], 0);
  EXPECT_EQ(j["mount_type"], "kubernetes");
  const json& auth = j["auth"];
  EXPECT_EQ(auth["policies"], json({"app-read", "default"}));
  EXPECT_EQ(auth["token_policies"], json({"app-read", "default"}));
  EXPECT_EQ(auth["lease_duration"], 3600);
  EXPECT_EQ(auth["renewable"], true);
  EXPECT_EQ(auth["orphan"], true);
  EXPECT_EQ(auth["token_type"], "service");
  EXPECT_EQ(auth["metadata"], (json{{"role", "app"},
                                    {"service_account_name", "app"},
                                    {"service_account_namespace", "default"},
                                    {"service_account_secret_name", ""},
                                    {"service_account_uid", "uid-1234"}}));
  std::string token = auth["client_token"];
  EXPECT_EQ(call("GET", "auth/token/lookup-self", token).status, 200);
  // Globs in bindings, and the Stronghold-style mount.
  EXPECT_EQ(
      login("kubernetes_local", {{"role", "app"}, {"jwt", k8sJwt("apps-prod", "web-1")}}).status,
      200);
  EXPECT_EQ(vault_->loginCount("kubernetes"), 1u);
  EXPECT_EQ(vault_->loginCount("kubernetes_local"), 1u);
  EXPECT_EQ(vault_->loginSuccessCount("kubernetes"), 1u);
}

TEST_F(KubernetesAuthTest, ErrorsFollowTheReference) {
  auto r = login("kubernetes", {{"jwt", k8sJwt("default", "app")}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"missing role"}));
  r = login("kubernetes", {{"role", "app"}});
  EXPECT_EQ(parse(r)["errors"], json({"missing jwt"}));
  r = login("kubernetes", {{"role", "nope"}, {"jwt", k8sJwt("default", "app")}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"invalid role name \"nope\""}));

  r = login("kubernetes", {{"role", "app"}, {"jwt", k8sJwt("default", "other")}});
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(parse(r)["errors"][0].get<std::string>(),
              HasSubstr("service account name not authorized"));
  r = login("kubernetes", {{"role", "app"}, {"jwt", k8sJwt("kube-system", "app")}});
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(parse(r)["errors"][0].get<std::string>(), HasSubstr("namespace not authorized"));
  r = login("kubernetes",
            {{"role", "app"},
             {"jwt", k8sJwt("default", "app", {"vault"}, std::chrono::hours(1), "wrong-key")}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(parse(r)["errors"], json({kPermissionDenied}));
  r = login("kubernetes", {{"role", "app"}, {"jwt", k8sJwt("default", "app", {"other"})}});
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(parse(r)["errors"][0].get<std::string>(), HasSubstr("invalid audience"));
  r = login("kubernetes", {{"role", "app"}, {"jwt", "not.a.jwt.at.all"}});
  EXPECT_EQ(r.status, 403);
  r = login("kubernetes", {{"role", "app"}, {"jwt", "garbage"}});
  EXPECT_EQ(r.status, 403);
  // Expired (beyond go-jose's one-minute leeway).
  std::string jwt = k8sJwt("default", "app", {"vault"}, std::chrono::seconds(10));
  clock_.advance(std::chrono::seconds(71));
  r = login("kubernetes", {{"role", "app"}, {"jwt", jwt}});
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(parse(r)["errors"][0].get<std::string>(), HasSubstr("token is expired"));
  EXPECT_EQ(vault_->loginSuccessCount("kubernetes"), 0u);
  EXPECT_EQ(call("GET", "auth/kubernetes/login", "").status, 405);
}

TEST_F(KubernetesAuthTest, TokenReviewerCallback) {
  std::atomic<int> reviews{0};
  vault_->setTokenReviewer(
      "kubernetes",
      [&](const std::string& jwt,
          const std::vector<std::string>& audiences) -> absl::StatusOr<vault::ServiceAccountInfo> {
        ++reviews;
        EXPECT_THAT(audiences, ElementsAre("vault"));
        if (jwt.find('.') == std::string::npos) {
          return absl::UnauthenticatedError("bad");
        }
        auto parsed = vault::parseJwt(jwt);
        const json& k = parsed->claims["kubernetes.io"];
        if (k["serviceaccount"]["name"] == "revoked") {
          return absl::UnauthenticatedError("token revoked");
        }
        return vault::ServiceAccountInfo{k["namespace"], k["serviceaccount"]["name"], "uid-1234"};
      });
  // Signed with any key: the reviewer, not the key, decides.
  EXPECT_EQ(login("kubernetes",
                  {{"role", "app"},
                   {"jwt", k8sJwt("default", "app", {"vault"}, std::chrono::hours(1), "x")}})
                .status,
            200);
  vault_
      ->addKubernetesRole("kubernetes", {.name = "any",
                                         .bound_service_account_names = {"*"},
                                         .bound_service_account_namespaces = {"*"},
                                         .audience = "vault"})
      .IgnoreError();
  auto r = login("kubernetes", {{"role", "any"}, {"jwt", k8sJwt("default", "revoked")}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(parse(r)["errors"], json({kPermissionDenied}));
  EXPECT_EQ(reviews.load(), 2);
}

TEST(MintServiceAccountJwtTest, HasKubernetesClaims) {
  auto expiry = common::SystemTime(std::chrono::seconds(1'900'000'000));
  std::string jwt = mintServiceAccountJwt("key", "ns1", "sa1", {"vault", "api"}, expiry, "u-1");
  auto parsed = vault::parseJwt(jwt);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(vault::verifyHs256(*parsed, "key"));
  EXPECT_FALSE(vault::verifyHs256(*parsed, "other"));
  const json& c = parsed->claims;
  EXPECT_EQ(c["sub"], "system:serviceaccount:ns1:sa1");
  EXPECT_EQ(c["aud"], json({"vault", "api"}));
  EXPECT_EQ(c["exp"], 1'900'000'000);
  EXPECT_EQ(c["iss"], "https://kubernetes.default.svc.cluster.local");
  EXPECT_EQ(c["kubernetes.io"]["namespace"], "ns1");
  EXPECT_EQ(c["kubernetes.io"]["serviceaccount"]["name"], "sa1");
  EXPECT_EQ(c["kubernetes.io"]["serviceaccount"]["uid"], "u-1");
  EXPECT_TRUE(c.contains("iat"));
  EXPECT_EQ(parsed->header["alg"], "HS256");
}

// --- AppRole and JWT auth (§2.5) ----------------------------------------------------------

TEST_F(VaultDoubleTest, AppRoleLogin) {
  ASSERT_TRUE(vault_
                  ->addAppRole({.name = "ci",
                                .role_id = "rid",
                                .secret_ids = {"sid"},
                                .policies = {"p"},
                                .token_ttl = std::chrono::minutes(20)})
                  .ok());
  auto r = call("POST", "auth/approle/login", "", R"({"role_id":"rid","secret_id":"sid"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["auth"]["metadata"], (json{{"role_name", "ci"}}));
  EXPECT_EQ(parse(r)["auth"]["lease_duration"], 1200);
  EXPECT_EQ(parse(r)["mount_type"], "approle");
  auto err = [&](const std::string& body) {
    auto res = call("POST", "auth/approle/login", "", body);
    EXPECT_EQ(res.status, 400) << body;
    return parse(res)["errors"];
  };
  EXPECT_EQ(err(R"({"secret_id":"sid"})"), json({"missing role_id"}));
  EXPECT_EQ(err(R"({"role_id":"rid"})"), json({"missing secret_id"}));
  EXPECT_EQ(err(R"({"role_id":"rid","secret_id":"bad"})"), json({"invalid role or secret ID"}));
  EXPECT_EQ(err(R"({"role_id":"bad","secret_id":"sid"})"), json({"invalid role or secret ID"}));
  EXPECT_EQ(vault_->loginCount("approle"), 5u);
}

TEST_F(VaultDoubleTest, JwtLogin) {
  vault_->enableJwtAuth("jwt", {.hs256_key = kJwtKey});
  ASSERT_TRUE(vault_
                  ->addJwtRole("jwt", {.name = "ci",
                                       .bound_audiences = {"vault"},
                                       .bound_subject = "repo:org/app",
                                       .policies = {"p"}})
                  .ok());
  ASSERT_TRUE(vault_->addJwtRole("jwt", {.name = "noaud", .policies = {"p"}}).ok());
  ASSERT_TRUE(vault_->addJwtRole("jwt", {.name = "web", .role_type = "oidc"}).ok());
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                 (clock_.now() + std::chrono::hours(1)).time_since_epoch())
                 .count();
  json claims = {{"sub", "repo:org/app"}, {"aud", "vault"}, {"exp", exp}};
  std::string good = vault::signHs256Jwt(kJwtKey, claims);
  auto r = call("POST", "auth/jwt/login", "", json{{"role", "ci"}, {"jwt", good}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["auth"]["metadata"], (json{{"role", "ci"}}));
  auto err = [&](const json& body) {
    auto res = call("POST", "auth/jwt/login", "", body.dump());
    EXPECT_EQ(res.status, 400) << body;
    return parse(res)["errors"][0].get<std::string>();
  };
  EXPECT_EQ(err({{"jwt", good}}), "missing role");
  EXPECT_EQ(err({{"role", "nope"}, {"jwt", good}}), "role \"nope\" could not be found");
  EXPECT_EQ(err({{"role", "ci"}}), "missing token");
  EXPECT_EQ(err({{"role", "web"}, {"jwt", good}}), "role with oidc role_type is not allowed");
  EXPECT_THAT(err({{"role", "ci"}, {"jwt", vault::signHs256Jwt("other", claims)}}),
              StartsWith("error validating token: "));
  json wrong_aud = claims;
  wrong_aud["aud"] = "other";
  EXPECT_THAT(err({{"role", "ci"}, {"jwt", vault::signHs256Jwt(kJwtKey, wrong_aud)}}),
              StartsWith("error validating claims: "));
  json wrong_sub = claims;
  wrong_sub["sub"] = "repo:evil/app";
  EXPECT_THAT(err({{"role", "ci"}, {"jwt", vault::signHs256Jwt(kJwtKey, wrong_sub)}}),
              StartsWith("error validating claims: "));
  EXPECT_EQ(err({{"role", "noaud"}, {"jwt", good}}),
            "audience claim found in JWT but no audiences bound to the role");
  clock_.advance(std::chrono::hours(2));
  EXPECT_THAT(err({{"role", "ci"}, {"jwt", good}}), HasSubstr("expired"));
}

// --- sys endpoints (§4) -------------------------------------------------------------------

TEST_F(VaultDoubleTest, Health) {
  auto r = call("GET", "sys/health", "");
  ASSERT_EQ(r.status, 200);
  json j = parse(r);
  EXPECT_EQ(j["initialized"], true);
  EXPECT_EQ(j["sealed"], false);
  EXPECT_EQ(j["standby"], false);
  EXPECT_EQ(j["replication_dr_mode"], "disabled");
  EXPECT_EQ(j["server_time_utc"], 1800000000);
  EXPECT_TRUE(j.contains("cluster_id"));
  EXPECT_EQ(r.header("cache-control"), "no-store");
  auto head = call("HEAD", "sys/health", "");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(call("GET", "sys/health?activecode=204", "").status, 204);
  EXPECT_EQ(call("GET", "sys/health?activecode=abc", "").body, kNotFoundBody);
  EXPECT_EQ(call("POST", "sys/health", "").status, 405);

  vault_->setStandby(true);
  EXPECT_EQ(call("GET", "sys/health", "").status, 429);
  EXPECT_EQ(call("GET", "sys/health?standbyok=true", "").status, 200);
  EXPECT_EQ(call("GET", "sys/health?standbycode=299", "").status, 299);
  vault_->setStandby(false);

  vault_->setSealed(true);
  r = call("GET", "sys/health", "");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(parse(r)["sealed"], true);
  EXPECT_FALSE(parse(r).contains("cluster_id"));
  EXPECT_EQ(call("GET", "sys/health?sealedcode=299", "").status, 299);
}

TEST_F(VaultDoubleTest, SealStatusAndSealedSwitch) {
  auto r = call("GET", "sys/seal-status", "");
  ASSERT_EQ(r.status, 200);
  json j = parse(r);
  EXPECT_EQ(j["type"], "shamir");
  EXPECT_EQ(j["sealed"], false);
  EXPECT_EQ(j["t"], 1);
  EXPECT_EQ(j["version"], "1.17.6");
  EXPECT_EQ(call("POST", "sys/seal-status", "").status, 405);
  vault_->setSealed(true);
  EXPECT_EQ(parse(call("GET", "sys/seal-status", ""))["sealed"], true);
  r = call("GET", "secret/data/x");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(parse(r)["errors"], json({"Vault is sealed"}));
  EXPECT_EQ(call("POST", "auth/token/renew-self").status, 503);
  vault_->setSealed(false);
  EXPECT_EQ(call("GET", "secret/data/x").status, 404);
}

TEST_F(VaultDoubleTest, PreflightMounts) {
  auto r = call("GET", "sys/internal/ui/mounts/secret/app/db");
  ASSERT_EQ(r.status, 200) << r.body;
  json d = parse(r)["data"];
  EXPECT_EQ(d["type"], "kv");
  EXPECT_EQ(d["options"], (json{{"version", "2"}}));
  EXPECT_EQ(d["path"], "secret/");
  EXPECT_THAT(d["accessor"].get<std::string>(), StartsWith("kv_"));
  EXPECT_EQ(d["config"]["default_lease_ttl"], 0);
  r = call("GET", "sys/internal/ui/mounts/nomount/x");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(parse(r)["errors"],
            json({"preflight capability check returned 403, please ensure client's policies "
                  "grant access to path \"nomount/x/\""}));
  vault_->putPolicy("one", {{"secret/data/app/db", {vault::Capability::kRead}}});
  EXPECT_EQ(
      call("GET", "sys/internal/ui/mounts/secret/app/db", vault_->createToken({"one"})).status,
      200);
  r = call("GET", "sys/internal/ui/mounts/secret/app/db", vault_->createToken({}));
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(parse(r)["errors"][0].get<std::string>(), StartsWith("preflight capability check"));
}

TEST_F(VaultDoubleTest, SysMounts) {
  auto r = call("POST", "sys/mounts/apps/kv", "root", R"({"type":"kv-v2"})");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(put("apps/kv/data/x", {{"a", 1}}).status, 200);
  EXPECT_EQ(
      call("POST", "sys/mounts/old", "root", R"({"type":"kv","options":{"version":"1"}})").status,
      204);
  EXPECT_EQ(call("POST", "old/x", "root", R"({"a":1})").status, 204);
  r = call("POST", "sys/mounts/secret", "root", R"({"type":"kv"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(parse(r)["errors"], json({"path is already in use at secret/"}));
  r = call("GET", "sys/mounts");
  json j = parse(r);
  EXPECT_EQ(j["secret/"]["options"]["version"], "2");
  EXPECT_EQ(j["data"]["old/"]["options"]["version"], "1");
  EXPECT_EQ(call("GET", "sys/mounts", vault_->createToken({})).status, 403);
}

TEST_F(VaultDoubleTest, Leases) {
  EXPECT_EQ(call("PUT", "sys/leases/revoke", "root", R"({"lease_id":"db/creds/x/1"})").status, 204);
  auto r = call("PUT", "sys/leases/revoke", "root", R"({"lease_id":"db/creds/x/1","sync":false})");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "");
  r = call("PUT", "sys/leases/renew", "root", "{}");
  EXPECT_EQ(parse(r)["errors"], json({"lease_id must be specified"}));
  r = call("PUT", "sys/leases/renew", vault_->createToken({}), R"({"lease_id":"x"})");
  EXPECT_EQ(parse(r)["errors"], json({"lease not found"}));
}

// --- Faults and counters ------------------------------------------------------------------

TEST_F(VaultDoubleTest, FaultRules) {
  put("secret/data/x", {{"a", 1}});
  uint64_t sealed = vault_->addFault(vault::FaultRule::sealed(2));
  for (int i = 0; i < 2; ++i) {
    auto r = call("GET", "secret/data/x");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(parse(r)["errors"], json({"Vault is sealed"}));
  }
  EXPECT_EQ(call("GET", "secret/data/x").status, 200);
  EXPECT_EQ(vault_->faultHits(sealed), 2u);

  auto limited = vault::FaultRule::rateLimited("3", 1);
  limited.path_prefix = "secret/data/";
  limited.method = "GET";
  vault_->addFault(limited);
  EXPECT_EQ(call("GET", "auth/token/lookup-self").status, 200);
  auto r = call("GET", "secret/data/x");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "3");
  EXPECT_EQ(call("GET", "secret/data/x").status, 200);

  for (int status : {500, 502, 412}) {
    vault_->addFault(vault::FaultRule::error(status, "boom", 1));
    r = call("GET", "secret/data/x");
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(parse(r)["errors"], json({"boom"}));
  }

  // libcurl silently retries once when a *reused* connection dies, so use a fresh client to see
  // the reset itself.
  vault_->addFault(vault::FaultRule::dropConnection(1));
  CurlTestClient fresh;
  r = fresh.request("GET", vault_->baseUrl() + "/v1/secret/data/x", {{"X-Vault-Token", "root"}});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.curl_code, 0);
  EXPECT_EQ(call("GET", "secret/data/x").status, 200);

  vault_->addFault(vault::FaultRule::latencyOnly(std::chrono::milliseconds(200), 1));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(call("GET", "secret/data/x").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(190));

  vault::FaultRule redirect;
  redirect.redirect_to = "http://127.0.0.1:1";
  redirect.times = 1;
  vault_->addFault(redirect);
  r = call("GET", "secret/data/x?version=1");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.header("location"), "http://127.0.0.1:1/v1/secret/data/x?version=1");

  uint64_t forever = vault_->addFault(vault::FaultRule::error(500, ""));
  EXPECT_EQ(call("GET", "secret/data/x").body, kNotFoundBody);
  EXPECT_EQ(call("GET", "secret/data/x").status, 500);
  vault_->removeFault(forever);
  EXPECT_EQ(call("GET", "secret/data/x").status, 200);
}

TEST_F(VaultDoubleTest, Counters) {
  put("secret/data/app", {{"a", 1}});
  vault_->resetCounters();
  call("GET", "secret/data/app");
  call("GET", "secret/data/app");
  call("LIST", "secret/metadata");
  call("GET", "secret/metadata?list=true");
  EXPECT_EQ(vault_->requestCount(), 4u);
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app"), 2u);
  EXPECT_EQ(vault_->requestCount("LIST", "secret/metadata"), 1u);
  EXPECT_EQ(vault_->requestCount("GET", "secret/metadata"), 1u);
  EXPECT_EQ(vault_->requestCount("POST", "secret/data/app"), 0u);
  ASSERT_TRUE(vault_->lastRequest().has_value());
  EXPECT_EQ(vault_->lastRequest()->query.front().first, "list");
  vault_->resetCounters();
  EXPECT_EQ(vault_->requestCount(), 0u);
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app"), 0u);
}

TEST_F(VaultDoubleTest, ConcurrentClients) {
  vault_->putPolicy(
      "rw", {{"secret/*",
              {vault::Capability::kRead, vault::Capability::kCreate, vault::Capability::kUpdate}}});
  std::string token = vault_->createToken({"rw"});
  constexpr int kThreads = 24;
  constexpr int kOps = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      CurlTestClient c;
      std::string base = vault_->baseUrl() + "/v1/secret/data/shared";
      for (int i = 0; i < kOps; ++i) {
        auto w = c.request("POST", base, {{"X-Vault-Token", token}},
                           json{{"data", {{"t", t}, {"i", i}}}}.dump());
        auto r = c.request("GET", base, {{"X-Vault-Token", token}});
        if (w.status == 200 && r.status == 200) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), kThreads * kOps);
  EXPECT_EQ(parse(call("GET", "secret/metadata/shared"))["data"]["current_version"],
            kThreads * kOps);
  EXPECT_EQ(vault_->requestCount("POST", "secret/data/shared"),
            static_cast<uint64_t>(kThreads * kOps));
}

// --- TLS and seeding ----------------------------------------------------------------------

TEST_F(VaultDoubleTest, ServesHttps) {
  auto pki = TestPki::generate();
  ASSERT_TRUE(pki.ok());
  VaultDoubleOptions options;
  options.tls = pki->serverConfig();
  startVault(options);
  EXPECT_THAT(vault_->baseUrl(), StartsWith("https://127.0.0.1:"));
  ASSERT_TRUE(vault_->putSecret("secret", "tls", {{"a", "b"}}).ok());
  CurlTestClient tls({.ca_pem = pki->ca.cert_pem});
  auto r =
      tls.request("GET", vault_->baseUrl() + "/v1/secret/data/tls", {{"X-Vault-Token", "root"}});
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(parse(r)["data"]["data"]["a"], "b");
}

TEST_F(VaultDoubleTest, DemoSeedApplies) {
  std::string here = __FILE__;
  std::string seed = here.substr(0, here.rfind('/')) + "/testdata/demo_seed.json";
  ASSERT_TRUE(applySeedFile(*vault_, seed).ok());
  auto r = call("GET", "secret/data/app/db", "hvs.demo-app-token");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["data"]["metadata"]["version"], 2);
  EXPECT_EQ(parse(r)["data"]["metadata"]["custom_metadata"]["owner"], "payments");
  EXPECT_EQ(parse(call("GET", "kv1/legacy/smtp", "hvs.demo-app-token"))["data"]["user"], "mailer");
  EXPECT_EQ(call("GET", "team/kv/data/billing/stripe", "hvs.demo-app-token").status, 200);
  auto login =
      call("POST", "auth/kubernetes/login", "",
           json{{"role", "app"},
                {"jwt", mintServiceAccountJwt("demo-kubernetes-signing-key", "apps-x", "app",
                                              {"vault"}, clock_.now() + std::chrono::hours(1))}}
               .dump());
  EXPECT_EQ(login.status, 200) << login.body;
  EXPECT_FALSE(applySeed(*vault_, json{{"mounts", {{{"path", "x"}, {"type", "pki"}}}}}).ok());
  EXPECT_FALSE(applySeed(*vault_, json::array()).ok());
}

}  // namespace
}  // namespace secretsync::test
