#include "pkg/store/vault/jwt_source.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace secretsync::store::vault {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

namespace fs = std::filesystem;

// The file reading itself (rotation, trimming, errors) is common::TokenFile's, tested there.
TEST(FileJwtSourceTest, ReadsTheFileAndDescribesItByPath) {
  const fs::path dir = ::testing::TempDir();
  const fs::path path = dir / ("jwt_source_test_token." + std::to_string(::getpid()));
  std::ofstream(path) << "  eyJhbGciOiJSUzI1NiJ9.payload.sig\n";
  FileJwtSource source(path.string());
  const absl::StatusOr<common::SecretString> jwt = source.jwt();
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->reveal(), "eyJhbGciOiJSUzI1NiJ9.payload.sig");
  EXPECT_EQ(source.describe(), "file:" + path.string());
  const absl::StatusOr<common::SecretString> missing =
      FileJwtSource((dir / "absent-jwt-file").string()).jwt();
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("JWT file " + (dir / "absent-jwt-file").string()));
  fs::remove(path);
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
