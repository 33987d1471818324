#include "pkg/common/token_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace secretsync::common {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "token_file_test.XXXXXX").string();
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

TEST_F(TokenFileTest, ReadsAndTrimsTheFile) {
  const fs::path path = dir_ / "token";
  write(path, "  eyJhbGciOiJSUzI1NiJ9.payload.sig\n");
  TokenFile source(path.string(), "JWT");
  const absl::StatusOr<SecretString> jwt = source.read();
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->reveal(), "eyJhbGciOiJSUzI1NiJ9.payload.sig");
  EXPECT_EQ(source.path(), path.string());
}

TEST_F(TokenFileTest, RereadsWhenTheFileChanges) {
  const fs::path path = dir_ / "token";
  write(path, "first.jwt.value\n");
  TokenFile source(path.string(), "JWT");
  ASSERT_EQ(source.read()->reveal(), "first.jwt.value");

  // A rewrite of another size is noticed.
  write(path, "second.jwt.value.longer\n");
  ASSERT_EQ(source.read()->reveal(), "second.jwt.value.longer");

  // A new file renamed over the old one (a new inode), as an atomic writer does.
  write(dir_ / "token.tmp", "third.jwt.value.longer!\n");
  fs::rename(dir_ / "token.tmp", path);
  EXPECT_EQ(source.read()->reveal(), "third.jwt.value.longer!");
}

TEST_F(TokenFileTest, FollowsAKubeletStyleSymlinkSwap) {
  // The kubelet's projected volume: token -> ..data/token, ..data -> a timestamped directory that
  // is replaced by swapping the ..data symlink.
  fs::create_directory(dir_ / "v1");
  fs::create_directory(dir_ / "v2");
  write(dir_ / "v1" / "token", "jwt.from.v1");
  write(dir_ / "v2" / "token", "jwt.from.v2");
  fs::create_directory_symlink("v1", dir_ / "..data");
  fs::create_symlink("..data/token", dir_ / "token");
  TokenFile source((dir_ / "token").string(), "JWT");
  ASSERT_EQ(source.read()->reveal(), "jwt.from.v1");

  fs::create_directory_symlink("v2", dir_ / "..data_tmp");
  fs::rename(dir_ / "..data_tmp", dir_ / "..data");
  EXPECT_EQ(source.read()->reveal(), "jwt.from.v2");
}

TEST_F(TokenFileTest, DoesNotRereadAnUnchangedFile) {
  const fs::path path = dir_ / "token";
  write(path, "original.jwt");
  TokenFile source(path.string(), "JWT");
  ASSERT_EQ(source.read()->reveal(), "original.jwt");

  // Same inode, same size, and the modification time put back: the cheap check sees no change, so
  // the cached JWT is returned without reading the file.
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  write(path, "modified.jwt");
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  EXPECT_EQ(source.read()->reveal(), "original.jwt");

  // Once the modification time moves, the new content is read.
  const struct timespec later[2] = {before.st_atim,
                                    {before.st_mtim.tv_sec + 10, before.st_mtim.tv_nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), later, 0), 0);
  EXPECT_EQ(source.read()->reveal(), "modified.jwt");
}

TEST_F(TokenFileTest, MissingFileIsAnErrorNamingThePath) {
  const fs::path path = dir_ / "absent";
  TokenFile source(path.string(), "JWT");
  const absl::StatusOr<SecretString> jwt = source.read();
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(jwt.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(jwt.status().message(), HasSubstr(path.string()));
}

TEST_F(TokenFileTest, FileRemovedAfterAReadIsAnError) {
  const fs::path path = dir_ / "token";
  write(path, "a.jwt");
  TokenFile source(path.string(), "JWT");
  ASSERT_TRUE(source.read().ok());
  fs::remove(path);
  const absl::StatusOr<SecretString> jwt = source.read();
  ASSERT_FALSE(jwt.ok());
  EXPECT_THAT(jwt.status().message(), HasSubstr(path.string()));
}

TEST_F(TokenFileTest, EmptyOrBlankFileIsAnErrorNamingThePath) {
  const fs::path path = dir_ / "token";
  for (const std::string content : {"", " \n\t\n"}) {
    write(path, content);
    TokenFile source(path.string(), "JWT");
    const absl::StatusOr<SecretString> jwt = source.read();
    ASSERT_FALSE(jwt.ok());
    EXPECT_EQ(jwt.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(jwt.status().message(), HasSubstr(path.string()));
    EXPECT_THAT(jwt.status().message(), HasSubstr("empty"));
  }
}

TEST_F(TokenFileTest, DirectoryIsAnError) {
  TokenFile source(dir_.string(), "JWT");
  const absl::StatusOr<SecretString> jwt = source.read();
  ASSERT_FALSE(jwt.ok());
  EXPECT_THAT(jwt.status().message(), HasSubstr(dir_.string()));
}

TEST_F(TokenFileTest, ErrorsSayTheLabelAndNeverTheContent) {
  const fs::path path = dir_ / "token";
  write(path, std::string(2 << 20, 'x'));
  TokenFile source(path.string(), "token");
  const absl::StatusOr<SecretString> read = source.read();
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("token file " + path.string()));
  EXPECT_THAT(read.status().message(), HasSubstr("larger than"));
  EXPECT_THAT(read.status().message(), ::testing::Not(HasSubstr("xxxx")));
}

}  // namespace
}  // namespace secretsync::common
