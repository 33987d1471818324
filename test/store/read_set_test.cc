#include "pkg/store/read_set.h"

#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "test/mocks/store/fake_store_client.h"
#include "test/support/manual_clock.h"

namespace secretsync::store {
namespace {

using secretsync::test::FakeStoreClient;

class ReadSetTest : public ::testing::Test {
 protected:
  ReadSetTest() : client_("vault|https://vault:8200||token:app") {
    client_.put("secret/team/db", {{"user", "app"}, {"password", "v1"}});
  }

  test::ManualClock clock_;
  // Caching off: whatever sharing the tests see is the ReadSet's own.
  Fetcher fetcher_{clock_, FetcherOptions{.cache_ttl = std::chrono::milliseconds(0)}};
  FakeStoreClient client_;
};

TEST_F(ReadSetTest, ASecretReadTwiceIsOneVersionEvenWhenVaultChangesInBetween) {
  ReadSet reads(fetcher_);
  const absl::StatusOr<const Secret*> first = reads.read(client_, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(first.ok()) << first.status();
  client_.put("secret/team/db", {{"user", "app"}, {"password", "v2"}});
  const absl::StatusOr<const Secret*> second =
      reads.read(client_, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ((*second)->data["password"], "v1");
  EXPECT_EQ(client_.reads(), 1);

  // The next unit of work sees the new value: the set is not a cache.
  ReadSet next(fetcher_);
  const absl::StatusOr<const Secret*> later = next.read(client_, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ((*later)->data["password"], "v2");
  EXPECT_EQ(client_.reads(), 2);
}

TEST_F(ReadSetTest, VersionsAndIdentitiesAreSeparateReads) {
  FakeStoreClient other("vault|https://vault:8200||token:other");
  other.put("secret/team/db", {{"password", "theirs"}});
  ReadSet reads(fetcher_);
  ASSERT_TRUE(reads.read(client_, {"secret/team/db", std::nullopt}).ok());
  const absl::StatusOr<const Secret*> pinned = reads.read(client_, {"secret/team/db", 3});
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ((*pinned)->version, 3);
  const absl::StatusOr<const Secret*> theirs = reads.read(other, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  EXPECT_EQ((*theirs)->data["password"], "theirs");
  EXPECT_EQ(client_.reads(), 2);
  EXPECT_EQ(other.reads(), 1);
}

TEST_F(ReadSetTest, ErrorsAreNotKept) {
  ReadSet reads(fetcher_);
  client_.failNext(1, absl::UnavailableError("vault sealed"));
  const absl::StatusOr<const Secret*> failed =
      reads.read(client_, {"secret/team/db", std::nullopt});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  const absl::StatusOr<const Secret*> retried =
      reads.read(client_, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ((*retried)->data["password"], "v1");
  EXPECT_EQ(client_.reads(), 2);
}

}  // namespace
}  // namespace secretsync::store
