#include "pkg/store/fetcher.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/mocks/store/fake_store_client.h"
#include "test/mocks/store/vault/auth_fakes.h"
#include "test/support/manual_clock.h"

namespace secretsync::store {
namespace {

using secretsync::test::FakeStoreClient;

class FetcherTest : public ::testing::Test {
 protected:
  FetcherTest() : client_("vault|https://vault:8200||kubernetes:kubernetes:app:file:/t") {
    client_.put("secret/team/db", {{"password", "s3cr3t"}});
  }

  test::ManualClock clock_;
  FakeStoreClient client_;
};

TEST_F(FetcherTest, CachesASuccessfulReadForTheTtl) {
  Fetcher fetcher(clock_);
  const absl::StatusOr<Secret> first = fetcher.read(client_, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->data["password"], "s3cr3t");

  clock_.advance(std::chrono::milliseconds(4900));
  const absl::StatusOr<Secret> second = fetcher.read(client_, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->data, first->data);
  EXPECT_EQ(client_.reads(), 1);

  const FetcherStats stats = fetcher.stats();
  EXPECT_EQ(stats.reads_requested, 2u);
  EXPECT_EQ(stats.store_reads, 1u);
  EXPECT_EQ(stats.cache_hits, 1u);
  EXPECT_EQ(stats.readsSaved(), 1u);
}

TEST_F(FetcherTest, ExpiredEntryIsReadAgain) {
  Fetcher fetcher(clock_);
  ASSERT_TRUE(fetcher.read(client_, {"secret/team/db", std::nullopt}).ok());
  clock_.advance(std::chrono::seconds(5));
  client_.put("secret/team/db", {{"password", "rotated"}});
  const absl::StatusOr<Secret> again = fetcher.read(client_, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->data["password"], "rotated");
  EXPECT_EQ(client_.reads(), 2);
}

TEST_F(FetcherTest, TwoHundredConcurrentReadsCostOneStoreRead) {
  Fetcher fetcher(clock_);
  test::AuthGate gate;
  client_.holdReadsAt(&gate);
  constexpr int kCallers = 200;
  std::vector<absl::StatusOr<Secret>> got(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      got[i] = fetcher.read(client_, {"secret/team/db", std::nullopt});
    });
  }
  // Hold the one store read until every other caller has joined it.
  ASSERT_TRUE(gate.awaitWaiting(1));
  ASSERT_TRUE(test::eventually([&] { return fetcher.stats().singleflight_joins == kCallers - 1; }));
  gate.open();
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (const absl::StatusOr<Secret>& secret : got) {
    ASSERT_TRUE(secret.ok()) << secret.status();
    EXPECT_EQ(secret->data["password"], "s3cr3t");
  }
  EXPECT_EQ(client_.reads(), 1);
  const FetcherStats stats = fetcher.stats();
  EXPECT_EQ(stats.reads_requested, 200u);
  EXPECT_EQ(stats.store_reads, 1u);
  EXPECT_EQ(stats.singleflight_joins, 199u);
  EXPECT_EQ(stats.readsSaved(), 199u);
}

TEST_F(FetcherTest, TwoIdentitiesNeverShareACachedValue) {
  FakeStoreClient team_a("vault|https://vault:8200||kubernetes:kubernetes:team-a:sa-a");
  FakeStoreClient team_b("vault|https://vault:8200||kubernetes:kubernetes:team-b:sa-b");
  team_a.put("secret/shared/db", {{"password", "for-a-only"}});
  team_b.put("secret/shared/db", {{"password", "for-b-only"}});
  Fetcher fetcher(clock_);

  for (int round = 0; round < 2; ++round) {
    const absl::StatusOr<Secret> a = fetcher.read(team_a, {"secret/shared/db", std::nullopt});
    const absl::StatusOr<Secret> b = fetcher.read(team_b, {"secret/shared/db", std::nullopt});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->data["password"], "for-a-only");
    EXPECT_EQ(b->data["password"], "for-b-only");
  }
  EXPECT_EQ(team_a.reads(), 1);
  EXPECT_EQ(team_b.reads(), 1);

  // A client whose identity may not read the path gets its own answer, not another's cache.
  FakeStoreClient team_c("vault|https://vault:8200||kubernetes:kubernetes:team-c:sa-c");
  const absl::StatusOr<Secret> c = fetcher.read(team_c, {"secret/shared/db", std::nullopt});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FetcherTest, TwoIdentitiesNeverShareAnInFlightRead) {
  FakeStoreClient team_a("identity-a");
  FakeStoreClient team_b("identity-b");
  team_a.put("secret/shared/db", {{"password", "for-a-only"}});
  team_b.put("secret/shared/db", {{"password", "for-b-only"}});
  Fetcher fetcher(clock_);
  test::AuthGate gate;
  team_a.holdReadsAt(&gate);
  absl::StatusOr<Secret> a;
  std::thread reader([&] { a = fetcher.read(team_a, {"secret/shared/db", std::nullopt}); });
  ASSERT_TRUE(gate.awaitWaiting(1));
  // B's read of the same path does not join A's read in flight: it completes on its own.
  const absl::StatusOr<Secret> b = fetcher.read(team_b, {"secret/shared/db", std::nullopt});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->data["password"], "for-b-only");
  gate.open();
  reader.join();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->data["password"], "for-a-only");
  EXPECT_EQ(fetcher.stats().singleflight_joins, 0u);
}

TEST_F(FetcherTest, VersionsAreSeparateKeys) {
  Fetcher fetcher(clock_);
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(fetcher.read(client_, {"secret/team/db", std::nullopt})->version, 7);
    EXPECT_EQ(fetcher.read(client_, {"secret/team/db", 3})->version, 3);
    EXPECT_EQ(fetcher.read(client_, {"secret/team/db", 4})->version, 4);
  }
  EXPECT_EQ(client_.reads(), 3);
  const std::vector<SecretRef> refs = client_.refs();
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0], (SecretRef{"secret/team/db", std::nullopt}));
  EXPECT_EQ(refs[1], (SecretRef{"secret/team/db", 3}));
  EXPECT_EQ(refs[2], (SecretRef{"secret/team/db", 4}));
}

TEST_F(FetcherTest, ErrorsAreNotCached) {
  Fetcher fetcher(clock_);
  client_.failNext(1, absl::UnavailableError("vault is sealed"));
  const absl::StatusOr<Secret> failed = fetcher.read(client_, {"secret/team/db", std::nullopt});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  const absl::StatusOr<Secret> ok = fetcher.read(client_, {"secret/team/db", std::nullopt});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(client_.reads(), 2);

  // Not found is an error too.
  EXPECT_EQ(fetcher.read(client_, {"secret/none", std::nullopt}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(fetcher.read(client_, {"secret/none", std::nullopt}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client_.reads(), 4);
  EXPECT_EQ(fetcher.cachedEntries(), 1u);
}

TEST_F(FetcherTest, AnErrorIsSharedWithEveryoneWaitingForTheSameRead) {
  Fetcher fetcher(clock_);
  test::AuthGate gate;
  client_.holdReadsAt(&gate);
  client_.failNext(1, absl::PermissionDeniedError("permission denied on secret/team/db"));
  constexpr int kCallers = 10;
  std::vector<absl::Status> got(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      got[i] = fetcher.read(client_, {"secret/team/db", std::nullopt}).status();
    });
  }
  ASSERT_TRUE(gate.awaitWaiting(1));
  ASSERT_TRUE(test::eventually([&] { return fetcher.stats().singleflight_joins == kCallers - 1; }));
  gate.open();
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (const absl::Status& status : got) {
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(client_.reads(), 1);
  EXPECT_EQ(fetcher.cachedEntries(), 0u);
}

TEST_F(FetcherTest, ZeroTtlDisablesCachingButKeepsSingleFlight) {
  FetcherOptions options;
  options.cache_ttl = std::chrono::milliseconds(0);
  Fetcher fetcher(clock_, options);
  ASSERT_TRUE(fetcher.read(client_, {"secret/team/db", std::nullopt}).ok());
  ASSERT_TRUE(fetcher.read(client_, {"secret/team/db", std::nullopt}).ok());
  EXPECT_EQ(client_.reads(), 2);
  EXPECT_EQ(fetcher.cachedEntries(), 0u);

  test::AuthGate gate;
  client_.holdReadsAt(&gate);
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      EXPECT_TRUE(fetcher.read(client_, {"secret/team/db", std::nullopt}).ok());
    });
  }
  ASSERT_TRUE(gate.awaitWaiting(1));
  ASSERT_TRUE(test::eventually([&] { return fetcher.stats().singleflight_joins == 9; }));
  gate.open();
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(client_.reads(), 3);
}

TEST_F(FetcherTest, EntriesAreBoundedAndTheOldestGoesFirst) {
  FetcherOptions options;
  options.max_entries = 3;
  Fetcher fetcher(clock_, options);
  for (int i = 0; i < 5; ++i) {
    const std::string path = "secret/p" + std::to_string(i);
    client_.put(path, {{"i", i}});
    ASSERT_TRUE(fetcher.read(client_, {path, std::nullopt}).ok());
    clock_.advance(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(fetcher.cachedEntries(), 3u);
  EXPECT_EQ(fetcher.stats().evictions, 2u);
  // p2..p4 stayed; p0 was evicted.
  ASSERT_TRUE(fetcher.read(client_, {"secret/p4", std::nullopt}).ok());
  EXPECT_EQ(client_.reads(), 5);
  ASSERT_TRUE(fetcher.read(client_, {"secret/p0", std::nullopt}).ok());
  EXPECT_EQ(client_.reads(), 6);
}

TEST_F(FetcherTest, ExpiredEntriesAreDroppedBeforeLiveOnesAreEvicted) {
  FetcherOptions options;
  options.max_entries = 3;
  Fetcher fetcher(clock_, options);
  for (const std::string path : {"secret/old", "secret/a", "secret/b", "secret/c"}) {
    client_.put(path, {{"path", path}});
  }
  ASSERT_TRUE(fetcher.read(client_, {"secret/old", std::nullopt}).ok());
  clock_.advance(std::chrono::seconds(3));
  ASSERT_TRUE(fetcher.read(client_, {"secret/a", std::nullopt}).ok());
  ASSERT_TRUE(fetcher.read(client_, {"secret/b", std::nullopt}).ok());
  clock_.advance(std::chrono::seconds(3));  // "old" has expired, a and b have not
  ASSERT_TRUE(fetcher.read(client_, {"secret/c", std::nullopt}).ok());
  EXPECT_EQ(fetcher.stats().evictions, 0u);
  EXPECT_EQ(fetcher.cachedEntries(), 3u);
  const int reads = client_.reads();
  ASSERT_TRUE(fetcher.read(client_, {"secret/a", std::nullopt}).ok());
  ASSERT_TRUE(fetcher.read(client_, {"secret/b", std::nullopt}).ok());
  EXPECT_EQ(client_.reads(), reads);
}

TEST_F(FetcherTest, InvalidateForcesARefreshForThatIdentityOnly) {
  FakeStoreClient other("another-identity");
  other.put("secret/team/db", {{"password", "other"}});
  Fetcher fetcher(clock_);
  ASSERT_TRUE(fetcher.read(client_, {"secret/team/db", std::nullopt}).ok());
  ASSERT_TRUE(fetcher.read(client_, {"secret/team/db", 2}).ok());
  ASSERT_TRUE(fetcher.read(other, {"secret/team/db", std::nullopt}).ok());

  fetcher.invalidate(client_.identity(), "secret/team/db");
  ASSERT_TRUE(fetcher.read(client_, {"secret/team/db", std::nullopt}).ok());
  ASSERT_TRUE(fetcher.read(client_, {"secret/team/db", 2}).ok());
  ASSERT_TRUE(fetcher.read(other, {"secret/team/db", std::nullopt}).ok());
  EXPECT_EQ(client_.reads(), 4);
  EXPECT_EQ(other.reads(), 1);
}

TEST_F(FetcherTest, InvalidateDuringAReadKeepsItsResultOutOfTheCache) {
  Fetcher fetcher(clock_);
  test::AuthGate gate;
  client_.holdReadsAt(&gate);
  std::thread reader([&] {
    EXPECT_TRUE(fetcher.read(client_, {"secret/team/db", std::nullopt}).ok());
  });
  ASSERT_TRUE(gate.awaitWaiting(1));
  fetcher.invalidate(client_.identity(), "secret/team/db");
  gate.open();
  reader.join();
  client_.holdReadsAt(nullptr);
  EXPECT_EQ(fetcher.cachedEntries(), 0u);
  ASSERT_TRUE(fetcher.read(client_, {"secret/team/db", std::nullopt}).ok());
  EXPECT_EQ(client_.reads(), 2);
}

}  // namespace
}  // namespace secretsync::store
