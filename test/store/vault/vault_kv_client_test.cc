#include "pkg/store/vault/vault_kv_client.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/mocks/store/vault/fake_token_provider.h"
#include "test/mocks/store/vault/fake_vault_transport.h"

namespace secretsync::store::vault {
namespace {

using test::FakeTokenProvider;
using test::FakeVaultTransport;
using test::vaultReply;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

constexpr const char* kMountV2 =
    R"({"data":{"type":"kv","options":{"version":"2"},"path":"secret/","accessor":"kv_1"}})";
constexpr const char* kMountV1 = R"({"data":{"type":"kv","options":null,"path":"secret/"}})";
constexpr const char* kPermissionDenied =
    R"({"errors":["1 error occurred:\n\t* permission denied\n\n"]})";
constexpr const char* kInvalidToken = R"({"errors":["permission denied","invalid token"]})";

std::string readBody(const char* data, int version, const char* deletion_time = "",
                     bool destroyed = false) {
  return std::string(
             R"({"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":)") +
         data +
         R"(,"metadata":{"created_time":"2024-01-01T00:00:00.5Z","custom_metadata":null,"deletion_time":")" +
         deletion_time + R"(","destroyed":)" + (destroyed ? "true" : "false") + R"(,"version":)" +
         std::to_string(version) + R"(}},"wrap_info":null,"warnings":null,"auth":null})";
}

class VaultKvClientTest : public ::testing::Test {
 protected:
  VaultKvClientTest() {
    transport_.on("GET sys/internal/ui/mounts/secret/team/db", vaultReply(200, kMountV2));
  }

  VaultKvClient client(VaultKvClientOptions options = {}) {
    if (options.identity.empty()) {
      options.identity = "vault@https://vault:8200|ns|token:abc";
    }
    return VaultKvClient(transport_, tokens_, std::move(options));
  }

  // Expects `status` to be a store kNotFound with `reason`.
  static void expectNotFound(const absl::Status& status, NotFoundReason reason) {
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_EQ(notFoundReason(status), reason) << status;
  }

  FakeVaultTransport transport_;
  FakeTokenProvider tokens_;
};

TEST_F(VaultKvClientTest, ReadsCurrentVersion) {
  transport_.on("GET secret/data/team/db",
                vaultReply(200, readBody(R"({"password":"hunter2","port":5432})", 2)));
  VaultKvClient kv = client();
  absl::StatusOr<Secret> secret = kv.read({"secret/team/db", std::nullopt});
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->data["password"], "hunter2");
  EXPECT_EQ(secret->data["port"], 5432);
  EXPECT_EQ(secret->version, 2);
  EXPECT_EQ(secret->created_time, "2024-01-01T00:00:00.5Z");

  const auto calls = transport_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].key(), "GET sys/internal/ui/mounts/secret/team/db");
  EXPECT_EQ(calls[1].key(), "GET secret/data/team/db");
  EXPECT_EQ(calls[1].token, "token-1");
  EXPECT_EQ(calls[0].token, "token-1");
  EXPECT_TRUE(calls[1].send_namespace);
  EXPECT_EQ(calls[1].path_template, "secret/data/*");
  EXPECT_EQ(kv.identity(), "vault@https://vault:8200|ns|token:abc");
}

TEST_F(VaultKvClientTest, ReadsPinnedVersion) {
  transport_.on("GET secret/data/team/db?version=3", vaultReply(200, readBody(R"({"a":"b"})", 3)));
  VaultKvClient kv = client();
  absl::StatusOr<Secret> secret = kv.read({"secret/team/db", 3});
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->version, 3);
}

TEST_F(VaultKvClientTest, VersionAboveCurrentIsMissing) {
  transport_.on("GET secret/data/team/db?version=9", vaultReply(404, R"({"errors":[]})"));
  VaultKvClient kv = client();
  const absl::Status status = kv.read({"secret/team/db", 9}).status();
  expectNotFound(status, NotFoundReason::Missing);
  EXPECT_THAT(status.message(), HasSubstr("secret/team/db version 9"));
}

TEST_F(VaultKvClientTest, SoftDeletedVersion) {
  transport_.on("GET secret/data/team/db",
                vaultReply(404, readBody("null", 3, "2024-02-01T00:00:00Z")));
  VaultKvClient kv = client();
  const absl::Status status = kv.read({"secret/team/db", std::nullopt}).status();
  expectNotFound(status, NotFoundReason::Deleted);
  EXPECT_THAT(status.message(), HasSubstr("secret/team/db"));
  EXPECT_THAT(status.message(), HasSubstr("version 3"));
}

TEST_F(VaultKvClientTest, DestroyedVersion) {
  transport_.on("GET secret/data/team/db?version=2",
                vaultReply(404, readBody("null", 2, "", true)));
  VaultKvClient kv = client();
  expectNotFound(kv.read({"secret/team/db", 2}).status(), NotFoundReason::Destroyed);
}

TEST_F(VaultKvClientTest, MissingKey) {
  transport_.on("GET secret/data/team/db", vaultReply(404, R"({"errors":[]})"));
  VaultKvClient kv = client();
  expectNotFound(kv.read({"secret/team/db", std::nullopt}).status(), NotFoundReason::Missing);
}

TEST_F(VaultKvClientTest, EmptyOrGarbled404IsMissing) {
  transport_.on("GET secret/data/team/db", vaultReply(404));
  VaultKvClient kv = client();
  expectNotFound(kv.read({"secret/team/db", std::nullopt}).status(), NotFoundReason::Missing);
  transport_.on("GET sys/internal/ui/mounts/secret/team/x", vaultReply(200, kMountV2));
  transport_.on("GET secret/data/team/x", vaultReply(404, R"({"data":{"data":"odd"}})"));
  expectNotFound(kv.read({"secret/team/x", std::nullopt}).status(), NotFoundReason::Missing);
}

TEST_F(VaultKvClientTest, DeletedAnswered200WithNullData) {
  // Older KV plugins answered 200 for a deleted version; the reference says to read the metadata.
  transport_.on("GET secret/data/team/db",
                vaultReply(200, readBody("null", 5, "2024-02-01T00:00:00Z")));
  VaultKvClient kv = client();
  expectNotFound(kv.read({"secret/team/db", std::nullopt}).status(), NotFoundReason::Deleted);
}

TEST_F(VaultKvClientTest, PermissionDenied) {
  transport_.on("GET secret/data/team/db", vaultReply(403, kPermissionDenied));
  VaultKvClient kv = client();
  const absl::Status status = kv.read({"secret/team/db", std::nullopt}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("secret/team/db"));
  EXPECT_THAT(status.message(), HasSubstr("permission denied"));
  EXPECT_THAT(status.message(), Not(HasSubstr("error occurred")));
  EXPECT_THAT(status.message(), Not(HasSubstr("token-1")));
  EXPECT_EQ(tokens_.invalidations(), 0);
}

TEST_F(VaultKvClientTest, InvalidTokenIsInvalidatedAndRetriedOnce) {
  transport_.on("GET secret/data/team/db", vaultReply(403, kInvalidToken));
  transport_.on("GET secret/data/team/db", vaultReply(200, readBody(R"({"a":"b"})", 1)));
  VaultKvClient kv = client();
  absl::StatusOr<Secret> secret = kv.read({"secret/team/db", std::nullopt});
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(tokens_.invalidations(), 1);
  EXPECT_EQ(tokens_.logins(), 2);
  const auto calls = transport_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].token, "token-1");
  EXPECT_EQ(calls[2].token, "token-2");
}

TEST_F(VaultKvClientTest, InvalidTokenTwiceGivesUp) {
  transport_.on(
      "GET secret/data/team/db",
      vaultReply(
          403,
          R"({"errors":["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"]})"));
  VaultKvClient kv = client();
  const absl::Status status = kv.read({"secret/team/db", std::nullopt}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(transport_.count("GET secret/data/team/db"), 2);
  EXPECT_EQ(tokens_.invalidations(), 1);
  EXPECT_THAT(status.message(), Not(HasSubstr("token-")));
}

TEST_F(VaultKvClientTest, TokenErrorsPropagate) {
  tokens_.setError(absl::PermissionDeniedError("kubernetes login to auth/kubernetes: denied"));
  VaultKvClient kv = client();
  EXPECT_EQ(kv.read({"secret/team/db", std::nullopt}).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(VaultKvClientTest, ServerErrorsMapThroughStatusFromReply) {
  transport_.on("GET secret/data/team/db", vaultReply(503, R"({"errors":["Vault is sealed"]})"));
  VaultKvClient kv = client();
  const absl::Status status = kv.read({"secret/team/db", std::nullopt}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("Vault is sealed"));
}

TEST_F(VaultKvClientTest, TransportErrorsPropagate) {
  transport_.on("GET secret/data/team/db", absl::UnavailableError("connection refused"));
  VaultKvClient kv = client();
  EXPECT_EQ(kv.read({"secret/team/db", std::nullopt}).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(VaultKvClientTest, GarbledSuccessIsDataLossNamingPath) {
  transport_.on("GET secret/data/team/db", vaultReply(200, R"({"data":{"data":"hunter2"}})"));
  VaultKvClient kv = client();
  const absl::Status status = kv.read({"secret/team/db", std::nullopt}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("secret/team/db"));
  EXPECT_THAT(status.message(), Not(HasSubstr("hunter2")));
}

TEST_F(VaultKvClientTest, KvV1) {
  FakeVaultTransport v1;
  v1.on("GET sys/internal/ui/mounts/secret/team/db", vaultReply(200, kMountV1));
  v1.on("GET secret/team/db",
        vaultReply(200, R"({"lease_duration":2764800,"data":{"user":"app"},"warnings":null})"));
  VaultKvClient kv(v1, tokens_, {.identity = "id"});
  absl::StatusOr<Secret> secret = kv.read({"secret/team/db", std::nullopt});
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->data["user"], "app");
  EXPECT_EQ(secret->version, 0);

  const absl::Status pinned = kv.read({"secret/team/db", 2}).status();
  EXPECT_EQ(pinned.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pinned.message(), HasSubstr("secret/team/db"));

  EXPECT_EQ(kv.readMetadata("secret/team/db").status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1.on("GET secret/team/gone", vaultReply(404, R"({"errors":[]})"));
  expectNotFound(kv.read({"secret/team/gone", std::nullopt}).status(), NotFoundReason::Missing);
  // One preflight for the mount, cached.
  EXPECT_EQ(v1.count("GET sys/internal/ui/mounts/secret/team/db"), 1);
  EXPECT_EQ(v1.count("GET sys/internal/ui/mounts/secret/team/gone"), 0);
}

TEST_F(VaultKvClientTest, PreflightNotFoundMeansKvV1) {
  FakeVaultTransport old;
  old.on("GET sys/internal/ui/mounts/kv/app", vaultReply(404, R"({"errors":[]})"));
  old.on("GET kv/app", vaultReply(200, R"({"data":{"k":"v"}})"));
  VaultKvClient kv(old, tokens_, {.identity = "id"});
  absl::StatusOr<Secret> secret = kv.read({"kv/app", std::nullopt});
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->data["k"], "v");
  old.on("GET other/x", vaultReply(200, R"({"data":{}})"));
  ASSERT_TRUE(kv.read({"other/x", std::nullopt}).ok());
  EXPECT_EQ(old.count("GET sys/internal/ui/mounts/other/x"), 0);
}

TEST_F(VaultKvClientTest, PreflightDeniedIsPermissionDeniedNamingPath) {
  FakeVaultTransport denied;
  denied.on(
      "GET sys/internal/ui/mounts/nope/x",
      vaultReply(
          403,
          R"({"errors":["preflight capability check returned 403, please ensure client's policies grant access to path \"nope/x/\""]})"));
  VaultKvClient kv(denied, tokens_, {.identity = "id"});
  const absl::Status status = kv.read({"nope/x", std::nullopt}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("nope/x"));
  // Not cached: a later attempt asks again (the policy may have been fixed).
  (void)kv.read({"nope/x", std::nullopt});
  EXPECT_EQ(denied.count("GET sys/internal/ui/mounts/nope/x"), 2);
}

TEST_F(VaultKvClientTest, PreflightGarbledIsDataLoss) {
  FakeVaultTransport odd;
  odd.on("GET sys/internal/ui/mounts/s/x", vaultReply(200, R"({"data":{"path":5}})"));
  VaultKvClient kv(odd, tokens_, {.identity = "id"});
  const absl::Status status = kv.read({"s/x", std::nullopt}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("s/x"));
}

TEST_F(VaultKvClientTest, MultiSegmentMount) {
  FakeVaultTransport team;
  team.on("GET sys/internal/ui/mounts/team/kv/app/db",
          vaultReply(200, R"({"data":{"type":"kv","options":{"version":"2"},"path":"team/kv/"}})"));
  team.on("GET team/kv/data/app/db", vaultReply(200, readBody(R"({"a":"1"})", 1)));
  team.on("GET team/kv/data/app/cache", vaultReply(200, readBody(R"({"a":"2"})", 7)));
  team.on(
      "GET team/kv/metadata/app/db",
      vaultReply(
          200,
          R"({"data":{"current_version":1,"versions":{"1":{"created_time":"t","deletion_time":"","destroyed":false}}}})"));
  team.on("GET team/kv/metadata/app/?list=true",
          vaultReply(200, R"({"data":{"keys":["db","cache"]}})"));
  VaultKvClient kv(team, tokens_, {.identity = "id"});
  ASSERT_EQ(kv.read({"team/kv/app/db", std::nullopt}).value().data["a"], "1");
  ASSERT_EQ(kv.read({"team/kv/app/cache", std::nullopt}).value().version, 7);
  ASSERT_EQ(kv.readMetadata("team/kv/app/db").value().current_version, 1);
  EXPECT_THAT(kv.list("team/kv/app", false).value(), ElementsAre("cache", "db"));
  // Only the first path needed the preflight.
  int preflights = 0;
  for (const auto& call : team.calls()) {
    preflights += call.path.rfind("sys/internal/ui/mounts/", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(preflights, 1);
  // Reading the mount itself is not a secret.
  EXPECT_EQ(kv.read({"team/kv", std::nullopt}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(VaultKvClientTest, CachedMountMatchesWholeSegmentsOnly) {
  // Vault refuses overlapping mounts, so a cached mount containing a path is its mount; but
  // "secret/" must not claim "secretx/...".
  FakeVaultTransport two;
  two.on("GET sys/internal/ui/mounts/secret/a", vaultReply(200, kMountV2));
  two.on("GET sys/internal/ui/mounts/secretx/b",
         vaultReply(200, R"({"data":{"type":"kv","options":{"version":"1"},"path":"secretx/"}})"));
  two.on("GET secret/data/a", vaultReply(200, readBody("{}", 1)));
  two.on("GET secretx/b", vaultReply(200, R"({"data":{"v":2}})"));
  VaultKvClient kv(two, tokens_, {.identity = "id"});
  ASSERT_TRUE(kv.read({"secret/a", std::nullopt}).ok());
  EXPECT_EQ(kv.read({"secretx/b", std::nullopt}).value().data["v"], 2);
  EXPECT_EQ(two.count("GET sys/internal/ui/mounts/secretx/b"), 1);
}

TEST_F(VaultKvClientTest, NamespacePrefixedMountPath) {
  FakeVaultTransport ns;
  ns.on("GET sys/internal/ui/mounts/secret/db",
        vaultReply(
            200, R"({"data":{"type":"kv","options":{"version":"2"},"path":"ns1/team/secret/"}})"));
  ns.on("GET secret/data/db", vaultReply(200, readBody(R"({"k":"v"})", 1)));
  VaultKvClient kv(ns, tokens_, {.identity = "id"});
  absl::StatusOr<Secret> secret = kv.read({"secret/db", std::nullopt});
  ASSERT_TRUE(secret.ok()) << secret.status();
}

TEST_F(VaultKvClientTest, UnrelatedMountPathIsFailedPrecondition) {
  FakeVaultTransport odd;
  odd.on("GET sys/internal/ui/mounts/secret/db",
         vaultReply(200, R"({"data":{"type":"kv","options":{"version":"2"},"path":"other/"}})"));
  VaultKvClient kv(odd, tokens_, {.identity = "id"});
  EXPECT_EQ(kv.read({"secret/db", std::nullopt}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(VaultKvClientTest, FixedMountAndVersionSkipPreflight) {
  FakeVaultTransport fixed;
  fixed.on("GET team/kv/data/app/db", vaultReply(200, readBody(R"({"a":"1"})", 1)));
  VaultKvClient kv(fixed, tokens_,
                   {.identity = "id", .kv_version = KvVersion::kV2, .mount = "team/kv/"});
  ASSERT_TRUE(kv.read({"team/kv/app/db", std::nullopt}).ok());
  EXPECT_EQ(fixed.calls().size(), 1u);
  EXPECT_EQ(kv.read({"other/app", std::nullopt}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(VaultKvClientTest, ForcedVersionOverridesPreflight) {
  transport_.on("GET secret/team/db", vaultReply(200, R"({"data":{"x":"1"}})"));
  VaultKvClient kv = client({.kv_version = KvVersion::kV1});
  absl::StatusOr<Secret> secret = kv.read({"secret/team/db", std::nullopt});
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->data["x"], "1");
}

TEST_F(VaultKvClientTest, RejectsBadPaths) {
  VaultKvClient kv = client();
  for (const char* path : {"", "/secret/db", "secret/../sys/x", "secret/./db", "..", "secret//db",
                           "secret/db/", "secret/d\nb", "secret/\x7f"}) {
    const absl::Status status = kv.read({path, std::nullopt}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(status.message(), HasSubstr("invalid secret path")) << path;
  }
  EXPECT_EQ(kv.read({"secret/team/db", 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.read({"secret/team/db", -1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.list("/x", false).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.readMetadata("a/../b").status().code(), absl::StatusCode::kInvalidArgument);
  // No request went out for any of them.
  EXPECT_THAT(transport_.calls(), IsEmpty());
}

TEST_F(VaultKvClientTest, ReadsMetadata) {
  transport_.on("GET secret/metadata/team/db", vaultReply(200, R"({"data":{
    "cas_required":false,"created_time":"c","current_version":3,"custom_metadata":{"owner":"a"},
    "delete_version_after":"0s","max_versions":0,"oldest_version":0,"updated_time":"u",
    "versions":{"1":{"created_time":"c1","deletion_time":"","destroyed":true},
                "2":{"created_time":"c2","deletion_time":"d2","destroyed":false},
                "3":{"created_time":"c3","deletion_time":"","destroyed":false}}}})"));
  VaultKvClient kv = client();
  absl::StatusOr<SecretMetadata> metadata = kv.readMetadata("secret/team/db");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->current_version, 3);
  EXPECT_THAT(metadata->custom_metadata, ElementsAre(Pair("owner", "a")));
  ASSERT_EQ(metadata->versions.size(), 3u);
  EXPECT_TRUE(metadata->versions.at(1).destroyed);
  EXPECT_EQ(metadata->versions.at(2).deletion_time, "d2");
  EXPECT_EQ(transport_.calls().back().path_template, "secret/metadata/*");
}

TEST_F(VaultKvClientTest, MetadataMissing) {
  transport_.on("GET secret/metadata/team/db", vaultReply(404, R"({"errors":[]})"));
  VaultKvClient kv = client();
  expectNotFound(kv.readMetadata("secret/team/db").status(), NotFoundReason::Missing);
}

class VaultKvListTest : public VaultKvClientTest {
 protected:
  VaultKvListTest() {
    transport_.on("GET sys/internal/ui/mounts/secret/apps", vaultReply(200, kMountV2));
    transport_.on("GET sys/internal/ui/mounts/secret", vaultReply(200, kMountV2));
    transport_.on("GET secret/metadata/apps/?list=true",
                  vaultReply(200, R"({"data":{"keys":["web/","db","api/","api","empty/"]}})"));
    transport_.on("GET secret/metadata/apps/web/?list=true",
                  vaultReply(200, R"({"data":{"keys":["tls","config/"]}})"));
    transport_.on("GET secret/metadata/apps/web/config/?list=true",
                  vaultReply(200, R"({"data":{"keys":["prod","dev"]}})"));
    transport_.on("GET secret/metadata/apps/api/?list=true",
                  vaultReply(200, R"({"data":{"keys":["key"]}})"));
    // Vault answers an empty folder with 404 (the fallback).
  }
};

TEST_F(VaultKvListTest, DirectChildren) {
  VaultKvClient kv = client();
  absl::StatusOr<std::vector<std::string>> keys = kv.list("secret/apps", false);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre("api", "api/", "db", "empty/", "web/"));
  EXPECT_EQ(transport_.calls().back().method, "GET");
  EXPECT_EQ(transport_.calls().back().path_template, "secret/metadata/*");
}

TEST_F(VaultKvListTest, TrailingSlashIsTheSameFolder) {
  VaultKvClient kv = client();
  EXPECT_THAT(kv.list("secret/apps/", false).value(),
              ElementsAre("api", "api/", "db", "empty/", "web/"));
}

TEST_F(VaultKvListTest, RecursiveLeavesSorted) {
  VaultKvClient kv = client();
  absl::StatusOr<std::vector<std::string>> keys = kv.list("secret/apps", true);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys,
              ElementsAre("api", "api/key", "db", "web/config/dev", "web/config/prod", "web/tls"));
}

TEST_F(VaultKvListTest, MountRoot) {
  transport_.on("GET secret/metadata/?list=true",
                vaultReply(200, R"({"data":{"keys":["apps/"]}})"));
  VaultKvClient kv = client();
  EXPECT_THAT(kv.list("secret", false).value(), ElementsAre("apps/"));
}

TEST_F(VaultKvListTest, MissingFolderIsEmpty) {
  transport_.on("GET sys/internal/ui/mounts/secret/none", vaultReply(200, kMountV2));
  VaultKvClient kv = client();
  EXPECT_THAT(kv.list("secret/none", false).value(), IsEmpty());
  EXPECT_THAT(kv.list("secret/none", true).value(), IsEmpty());
}

TEST_F(VaultKvListTest, KeyBoundStopsRunawayTrees) {
  VaultKvClient kv = client({.max_list_keys = 6});
  EXPECT_EQ(kv.list("secret/apps", true).status().code(), absl::StatusCode::kResourceExhausted);
  VaultKvClient direct = client({.max_list_keys = 4});
  EXPECT_EQ(direct.list("secret/apps", false).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(VaultKvListTest, DepthBoundStopsDeepTrees) {
  FakeVaultTransport deep;
  deep.setFallback(vaultReply(200, R"({"data":{"keys":["d/"]}})"));
  deep.on("GET sys/internal/ui/mounts/secret/x", vaultReply(200, kMountV2));
  VaultKvClient kv(deep, tokens_, {.identity = "id", .max_list_depth = 5});
  const absl::Status status = kv.list("secret/x", true).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_LE(deep.calls().size(), 8u);
}

TEST_F(VaultKvListTest, HostileKeysAreRejected) {
  transport_.replace("GET secret/metadata/apps/web/?list=true",
                     vaultReply(200, R"({"data":{"keys":["../../../sys/"]}})"));
  VaultKvClient kv = client();
  EXPECT_EQ(kv.list("secret/apps", true).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(VaultKvListTest, ListErrorsMap) {
  transport_.replace("GET secret/metadata/apps/api/?list=true", vaultReply(403, kPermissionDenied));
  VaultKvClient kv = client();
  const absl::Status status = kv.list("secret/apps", true).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("secret/apps/api/"));
}

TEST_F(VaultKvListTest, KvV1List) {
  FakeVaultTransport v1;
  v1.on("GET sys/internal/ui/mounts/kv/apps",
        vaultReply(200, R"({"data":{"type":"kv","path":"kv/"}})"));
  v1.on("GET kv/apps/?list=true", vaultReply(200, R"({"data":{"keys":["a","b/"]}})"));
  v1.on("GET kv/apps/b/?list=true", vaultReply(200, R"({"data":{"keys":["c"]}})"));
  VaultKvClient kv(v1, tokens_, {.identity = "id"});
  EXPECT_THAT(kv.list("kv/apps", true).value(), ElementsAre("a", "b/c"));
}

TEST_F(VaultKvClientTest, ConcurrentReadsShareTheMountCache) {
  transport_.on("GET secret/data/team/db", vaultReply(200, readBody(R"({"a":"b"})", 1)));
  VaultKvClient kv = client();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        ok += kv.read({"secret/team/db", std::nullopt}).ok() ? 1 : 0;
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(ok.load(), 400);
  // Threads racing before the first answer may each preflight; never more than one per thread.
  EXPECT_LE(transport_.count("GET sys/internal/ui/mounts/secret/team/db"), 8);
}

}  // namespace
}  // namespace secretsync::store::vault
