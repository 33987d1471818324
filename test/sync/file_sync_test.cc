// `secretsync sync`'s sink end to end in-process: manifests from files, the real resolver and
// builder, the Vault double over TCP, and the files on disk.

#include "pkg/sync/file_sync.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <stdlib.h>
#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/common/read_file.h"
#include "test/support/manifest_fixtures.h"
#include "test/support/manual_clock.h"
#include "test/support/vault_double/vault_double.h"
#include "test/sync/sync_test_util.h"

namespace secretsync::sync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FileSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::initCurl();
    char tmpl[] = "/tmp/file_sync_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    test::VaultDoubleOptions options;
    options.clock = &clock_;
    auto vault = test::VaultDouble::start(options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"user", "app"}, {"password", "pw1"}}).ok());
    std::ofstream(dir_ + "/manifests.yaml")
        << test::tokenStoreManifests("apps", vault_->baseUrl(), "root") +
               R"(apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: apps}
spec:
  secretStoreRef: {name: vault}
  dataFrom: [{extract: {key: app/db}}]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: same-target, namespace: apps}
spec:
  secretStoreRef: {name: vault}
  target: {name: db}
  data: [{secretKey: u, remoteRef: {key: app/db, property: user}}]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: none, namespace: apps}
spec:
  secretStoreRef: {name: vault}
  target: {creationPolicy: None}
  data: [{secretKey: u, remoteRef: {key: app/db, property: user}}]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: empty, namespace: apps}
spec:
  secretStoreRef: {name: vault}
  dataFrom: [{find: {path: nothing-here, name: {regexp: "."}}}]
)";
    manifests_ = loadManifests({dir_ + "/manifests.yaml"});
    ASSERT_FALSE(manifests_.hasErrors());
    ASSERT_EQ(manifests_.external_secrets.size(), 4u);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  test::ManualClock clock_;
  std::unique_ptr<test::VaultDouble> vault_;
  std::string dir_;
  ManifestSet manifests_;
};

// Written once with owner-only files; unchanged data writes nothing; a store failure leaves the
// files as they were (invariant 1); new data is one atomic swap.
TEST_F(FileSyncTest, WritesComparesAndNeverDamagesOnFailure) {
  ManifestCredentials credentials(manifests_);
  StoreResolver resolver(credentials, clock_);
  ManifestStoreSource stores(manifests_, resolver);
  store::Fetcher fetcher(clock_, {.cache_ttl = std::chrono::milliseconds(0)});
  SecretDataBuilder builder(stores, fetcher);
  FileSync sync(manifests_, builder, dir_ + "/out");

  const FileSyncResult first = sync.syncOne(0);
  ASSERT_TRUE(first.ok()) << first.failures[0];
  EXPECT_TRUE(first.changed);
  EXPECT_THAT(first.keys, ElementsAre("password", "user"));
  const std::string target = dir_ + "/out/apps/db";
  EXPECT_EQ(first.target_dir, target);
  EXPECT_EQ(common::readFile(target + "/password"), "pw1");
  struct stat st {};
  ASSERT_EQ(stat((target + "/password").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto version = std::filesystem::read_symlink(target + "/..data");

  const FileSyncResult again = sync.syncOne(0);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(std::filesystem::read_symlink(target + "/..data"), version);

  vault_->setSealed(true);
  const FileSyncResult failed = sync.syncOne(0);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.retryable);
  EXPECT_THAT(failed.failures[0], HasSubstr("apps/db: spec.dataFrom[0].extract.key: "));
  EXPECT_EQ(common::readFile(target + "/password"), "pw1");
  vault_->setSealed(false);

  ASSERT_TRUE(vault_->putSecret("secret", "app/db", {{"user", "app"}, {"password", "pw2"}}).ok());
  const FileSyncResult rotated = sync.syncOne(0);
  ASSERT_TRUE(rotated.ok());
  EXPECT_TRUE(rotated.changed);
  EXPECT_EQ(common::readFile(target + "/password"), "pw2");
  EXPECT_NE(std::filesystem::read_symlink(target + "/..data"), version);
}

// A second writer of one target is a terminal error; creationPolicy None and an empty result
// with deletionPolicy Retain write nothing.
TEST_F(FileSyncTest, ConflictsAndPolicies) {
  ManifestCredentials credentials(manifests_);
  StoreResolver resolver(credentials, clock_);
  ManifestStoreSource stores(manifests_, resolver);
  store::Fetcher fetcher(clock_);
  SecretDataBuilder builder(stores, fetcher);
  FileSync sync(manifests_, builder, dir_ + "/out");

  const FileSyncResult conflict = sync.syncOne(1);
  ASSERT_FALSE(conflict.ok());
  EXPECT_FALSE(conflict.retryable);
  EXPECT_EQ(conflict.failures[0],
            "apps/same-target: spec.target.name: Secret \"apps/db\" is also the target of "
            "ExternalSecret apps/db");

  const FileSyncResult none = sync.syncOne(2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.skipped);
  const FileSyncResult empty = sync.syncOne(3);
  ASSERT_TRUE(empty.ok()) << empty.failures[0];
  EXPECT_TRUE(empty.skipped);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/out/apps/none"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/out/apps/empty"));
}

}  // namespace
}  // namespace secretsync::sync
