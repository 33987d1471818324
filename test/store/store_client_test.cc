#include "pkg/store/store_client.h"

#include "gtest/gtest.h"

namespace secretsync::store {
namespace {

// Validate that plain and version-pinned paths parse as vault-csi-provider writes them.
TEST(ParseSecretRefTest, AcceptsPathAndVersion) {
  auto plain = parseSecretRef("secret/app/db");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->path, "secret/app/db");
  EXPECT_FALSE(plain->version.has_value());
  auto pinned = parseSecretRef("team/kv/app?version=7");
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->path, "team/kv/app");
  EXPECT_EQ(pinned->version, 7);
}

// Validate that anything but ?version=N (N >= 1) is refused with the text named.
TEST(ParseSecretRefTest, RefusesOtherQueries) {
  for (const char* bad : {"", "?version=1", "a?version=0", "a?version=-2", "a?version=x",
                          "a?versions=1", "a?version=1&x=2"}) {
    auto ref = parseSecretRef(bad);
    ASSERT_FALSE(ref.ok()) << bad;
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(ref.status().message().find(bad), std::string::npos) << ref.status();
  }
}

// A hostile path is quoted cut to 256 bytes and on one line.
TEST(ParseSecretRefTest, QuotesAHostilePathShortAndOnOneLine) {
  const std::string path = "a\nb?x=" + std::string(100000, 'p');
  auto ref = parseSecretRef(path);
  ASSERT_FALSE(ref.ok());
  const std::string message(ref.status().message());
  EXPECT_LT(message.size(), 400u);
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_NE(message.find("\"a b?x=pppp"), std::string::npos) << message;
}

// Validate that the NotFound reason survives the round trip, and that a foreign NotFound has none.
TEST(NotFoundReasonTest, RoundTrips) {
  EXPECT_EQ(notFoundReason(notFoundError(NotFoundReason::Deleted, "x")), NotFoundReason::Deleted);
  EXPECT_EQ(notFoundReason(notFoundError(NotFoundReason::Destroyed, "x")),
            NotFoundReason::Destroyed);
  EXPECT_EQ(notFoundReason(notFoundError(NotFoundReason::Missing, "x")), NotFoundReason::Missing);
  EXPECT_EQ(notFoundReason(absl::NotFoundError("x")), std::nullopt);
  EXPECT_EQ(notFoundReason(absl::OkStatus()), std::nullopt);
}

}  // namespace
}  // namespace secretsync::store
