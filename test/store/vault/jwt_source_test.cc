#include "pkg/store/vault/jwt_source.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace secretsync::store::vault {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

namespace fs = std::filesystem;

class JwtFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "jwt_source_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static void write(const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }

  fs::path dir_;
};

TEST_F(JwtFileTest, ReadsAndTrimsTheFile) {
  const fs::path path = dir_ / "token";
  write(path, "  eyJhbGciOiJSUzI1NiJ9.payload.sig\n");
  FileJwtSource source(path.string());
  const absl::StatusOr<common::SecretString> jwt = source.jwt();
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->reveal(), "eyJhbGciOiJSUzI1NiJ9.payload.sig");
  EXPECT_EQ(source.describe(), "file:" + path.string());
}

TEST_F(JwtFileTest, RereadsWhenTheFileChanges) {
  const fs::path path = dir_ / "token";
  write(path, "first.jwt.value\n");
  FileJwtSource source(path.string());
  ASSERT_EQ(source.jwt()->reveal(), "first.jwt.value");

  // A rewrite of another size is noticed.
  write(path, "second.jwt.value.longer\n");
  ASSERT_EQ(source.jwt()->reveal(), "second.jwt.value.longer");

  // A new file renamed over the old one (a new inode), as an atomic writer does.
  write(dir_ / "token.tmp", "third.jwt.value.longer!\n");
  fs::rename(dir_ / "token.tmp", path);
  EXPECT_EQ(source.jwt()->reveal(), "third.jwt.value.longer!");
}

TEST_F(JwtFileTest, FollowsAKubeletStyleSymlinkSwap) {
  // The kubelet's projected volume: token -> ..data/token, ..data -> a timestamped directory that
  // is replaced by swapping the ..data symlink.
  fs::create_directory(dir_ / "v1");
  fs::create_directory(dir_ / "v2");
  write(dir_ / "v1" / "token", "jwt.from.v1");
  write(dir_ / "v2" / "token", "jwt.from.v2");
  fs::create_directory_symlink("v1", dir_ / "..data");
  fs::create_symlink("..data/token", dir_ / "token");
  FileJwtSource source((dir_ / "token").string());
  ASSERT_EQ(source.jwt()->reveal(), "jwt.from.v1");

  fs::create_directory_symlink("v2", dir_ / "..data_tmp");
  fs::rename(dir_ / "..data_tmp", dir_ / "..data");
  EXPECT_EQ(source.jwt()->reveal(), "jwt.from.v2");
}

TEST_F(JwtFileTest, DoesNotRereadAnUnchangedFile) {
  const fs::path path = dir_ / "token";
  write(path, "original.jwt");
  FileJwtSource source(path.string());
  ASSERT_EQ(source.jwt()->reveal(), "original.jwt");

  // Same inode, same size, and the modification time put back: the cheap check sees no change, so
  // the cached JWT is returned without reading the file.
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  write(path, "modified.jwt");
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  EXPECT_EQ(source.jwt()->reveal(), "original.jwt");

  // Once the modification time moves, the new content is read.
  const struct timespec later[2] = {before.st_atim,
                                    {before.st_mtim.tv_sec + 10, before.st_mtim.tv_nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), later, 0), 0);
  EXPECT_EQ(source.jwt()->reveal(), "modified.jwt");
}

TEST_F(JwtFileTest, MissingFileIsAnErrorNamingThePath) {
  const fs::path path = dir_ / "absent";
  FileJwtSource source(path.string());
  const absl::StatusOr<common::SecretString> jwt = source.jwt();
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(jwt.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(jwt.status().message(), HasSubstr(path.string()));
}

TEST_F(JwtFileTest, FileRemovedAfterAReadIsAnError) {
  const fs::path path = dir_ / "token";
  write(path, "a.jwt");
  FileJwtSource source(path.string());
  ASSERT_TRUE(source.jwt().ok());
  fs::remove(path);
  const absl::StatusOr<common::SecretString> jwt = source.jwt();
  ASSERT_FALSE(jwt.ok());
  EXPECT_THAT(jwt.status().message(), HasSubstr(path.string()));
}

TEST_F(JwtFileTest, EmptyOrBlankFileIsAnErrorNamingThePath) {
  const fs::path path = dir_ / "token";
  for (const std::string content : {"", " \n\t\n"}) {
    write(path, content);
    FileJwtSource source(path.string());
    const absl::StatusOr<common::SecretString> jwt = source.jwt();
    ASSERT_FALSE(jwt.ok());
    EXPECT_EQ(jwt.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(jwt.status().message(), HasSubstr(path.string()));
    EXPECT_THAT(jwt.status().message(), HasSubstr("empty"));
  }
}

TEST_F(JwtFileTest, DirectoryIsAnError) {
  FileJwtSource source(dir_.string());
  const absl::StatusOr<common::SecretString> jwt = source.jwt();
  ASSERT_FALSE(jwt.ok());
  EXPECT_THAT(jwt.status().message(), HasSubstr(dir_.string()));
}

TEST(StaticJwtSourceTest, ReturnsTheJwtAndDescribesWithoutIt) {
  StaticJwtSource source(common::SecretString("static.jwt.secret"));
  EXPECT_EQ(source.jwt()->reveal(), "static.jwt.secret");
  EXPECT_THAT(source.describe(), MatchesRegex("static:[0-9a-f]{16}"));
  EXPECT_THAT(source.describe(), Not(HasSubstr("static.jwt.secret")));

  // Two different JWTs never describe alike (they may be different service accounts); the same
  // JWT always does.
  EXPECT_NE(source.describe(), StaticJwtSource(common::SecretString("other.jwt")).describe());
  EXPECT_EQ(source.describe(),
            StaticJwtSource(common::SecretString("static.jwt.secret")).describe());
  EXPECT_EQ(StaticJwtSource(common::SecretString("x"), "sa:ns/app").describe(), "static:sa:ns/app");
}

TEST(StaticJwtSourceTest, EmptyJwtIsAnError) {
  StaticJwtSource source{common::SecretString()};
  EXPECT_EQ(source.jwt().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CallbackJwtSourceTest, CallsTheCallbackEachTime) {
  int calls = 0;
  CallbackJwtSource source(
      [&]() -> absl::StatusOr<common::SecretString> {
        ++calls;
        return common::SecretString("jwt-" + std::to_string(calls));
      },
      "serviceaccount:team/app");
  EXPECT_EQ(source.jwt()->reveal(), "jwt-1");
  EXPECT_EQ(source.jwt()->reveal(), "jwt-2");
  EXPECT_EQ(source.describe(), "serviceaccount:team/app");
}

TEST(CallbackJwtSourceTest, ErrorsKeepTheirCodeAndNameTheSource) {
  CallbackJwtSource failing(
      []() -> absl::StatusOr<common::SecretString> {
        return absl::PermissionDeniedError("serviceaccounts/token is forbidden");
      },
      "serviceaccount:team/app");
  const absl::StatusOr<common::SecretString> jwt = failing.jwt();
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(jwt.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(jwt.status().message(), HasSubstr("serviceaccount:team/app"));
  EXPECT_THAT(jwt.status().message(), HasSubstr("forbidden"));

  CallbackJwtSource empty(
      []() -> absl::StatusOr<common::SecretString> { return common::SecretString(); },
      "serviceaccount:team/app");
  EXPECT_EQ(empty.jwt().status().code(), absl::StatusCode::kFailedPrecondition);

  CallbackJwtSource none(nullptr, "serviceaccount:team/none");
  EXPECT_EQ(none.jwt().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(KeyedFingerprintTest, IsShortStableAndDistinct) {
  const std::string a = keyedFingerprint("s.token-a");
  EXPECT_THAT(a, MatchesRegex("[0-9a-f]{16}"));
  EXPECT_EQ(a, keyedFingerprint("s.token-a"));
  EXPECT_NE(a, keyedFingerprint("s.token-b"));
  EXPECT_NE(a, keyedFingerprint(""));
}

}  // namespace
}  // namespace secretsync::store::vault
