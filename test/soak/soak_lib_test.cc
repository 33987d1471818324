// The soak's own logic, without processes: the fault schedule, the invariant checker that judges
// the soak, and the leak check. If these were wrong the soak could pass while secretsync fails.
#include <chrono>
#include <set>

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/soak/fault_schedule.h"
#include "test/soak/invariants.h"
#include "test/soak/process_stats.h"

namespace secretsync::soak {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST(FaultScheduleTest, ReproducibleFromTheSeedAndSorted) {
  const ScheduleOptions options{.seed = 42};
  const auto a = makeSchedule(options);
  const auto b = makeSchedule(options);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].start, b[i].start);
    EXPECT_EQ(a[i].duration, b[i].duration);
    if (i > 0) {
      EXPECT_LE(a[i - 1].start, a[i].start);
    }
  }
  const auto other = makeSchedule({.seed = 43});
  bool differs = other.size() != a.size();
  for (size_t i = 0; !differs && i < a.size(); ++i) {
    differs = a[i].kind != other[i].kind || a[i].start != other[i].start;
  }
  EXPECT_TRUE(differs);
}

TEST(FaultScheduleTest, CiWindowCoversEveryKindAndProcessFaultsDoNotOverlap) {
  // The CI run's window: faults start from 3 s to 35 s.
  for (uint64_t seed : {1ull, 7ull, 20261122ull}) {
    const auto schedule =
        makeSchedule({.seed = seed, .first_start = seconds(3), .last_start = seconds(35)});
    std::set<FaultKind> kinds;
    milliseconds process_busy_until{0};
    for (const ScheduledFault& f : schedule) {
      kinds.insert(f.kind);
      EXPECT_GE(f.start, seconds(3));
      EXPECT_LT(f.start, seconds(35));
      if (isProcessFault(f.kind)) {
        EXPECT_GE(f.start, process_busy_until) << faultKindName(f.kind) << " seed " << seed;
        process_busy_until = f.start + f.duration + seconds(4);
      }
    }
    EXPECT_THAT(kinds, SizeIs(kFaultKindCount)) << "seed " << seed;
    EXPECT_GT(scheduleEnd(schedule), schedule.back().start);
  }
}

TEST(FaultScheduleTest, NamesAreDistinct) {
  std::set<std::string_view> names;
  for (int i = 0; i < kFaultKindCount; ++i) names.insert(faultKindName(static_cast<FaultKind>(i)));
  EXPECT_THAT(names, SizeIs(kFaultKindCount));
  EXPECT_EQ(names.count("unknown"), 0u);
}

std::map<std::string, std::string> data(const std::string& path, uint64_t generation) {
  return {{"user", vaultValue(path, generation, "user")},
          {"pass", vaultValue(path, generation, "pass")}};
}

class InvariantCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    checker_.recordVaultWrite("app/p0", 1);
    checker_.recordVaultWrite("app/p1", 1);
    checker_.externalSecretCreated("es-0", "sec-0", "app/p0");
  }
  InvariantChecker checker_{seconds(10)};
  Clock::time_point t_ = Clock::now();
};

TEST_F(InvariantCheckerTest, ValuesVaultHeldPassAndConverge) {
  checker_.observeSecret(t_, "es-0", std::nullopt);  // not created yet: fine
  checker_.observeSecret(t_, "es-0", data("app/p0", 1));
  EXPECT_TRUE(checker_.allConverged());
  checker_.recordVaultWrite("app/p0", 2);
  EXPECT_FALSE(checker_.allConverged());
  checker_.observeSecret(t_, "es-0", data("app/p0", 1));  // an older value Vault held: fine
  checker_.observeSecret(t_, "es-0", data("app/p0", 2));
  EXPECT_TRUE(checker_.allConverged());
  EXPECT_THAT(checker_.violations(), IsEmpty());
}

TEST_F(InvariantCheckerTest, EmptiedDeletedForeignAndMixedSecretsAreViolations) {
  checker_.observeSecret(t_, "es-0", data("app/p0", 1));
  checker_.observeSecret(t_, "es-0", std::map<std::string, std::string>{});
  EXPECT_THAT(checker_.violations(), SizeIs(2));  // both keys gone
  EXPECT_THAT(checker_.violations()[0], HasSubstr("emptied"));
  checker_.observeSecret(t_, "es-0", data("app/p0", 1));
  checker_.observeSecret(t_, "es-0", std::nullopt);
  EXPECT_THAT(checker_.violations().back(), HasSubstr("was deleted"));
  checker_.observeSecret(t_, "es-0", data("app/p0", 7));  // never written
  EXPECT_THAT(checker_.violations().back(), HasSubstr("never held"));
  checker_.observeSecret(t_, "es-0", data("app/p1", 1));  // another ES's path
  EXPECT_THAT(checker_.violations().back(), HasSubstr("never held"));
  checker_.recordVaultWrite("app/p0", 2);
  auto mixed = data("app/p0", 1);
  mixed["pass"] = vaultValue("app/p0", 2, "pass");
  checker_.observeSecret(t_, "es-0", mixed);
  EXPECT_THAT(checker_.violations().back(), HasSubstr("mixes"));
  EXPECT_EQ(checker_.mixedObservations(), 1u);
}

TEST(InvariantRepeatTest, RepeatedViolationsAreListedOnce) {
  InvariantChecker checker(seconds(1));
  checker.addViolation("x");
  checker.addViolation("x");
  checker.addViolation("y");
  EXPECT_THAT(checker.violations(), SizeIs(2));
  EXPECT_EQ(checker.violationCount(), 3u);
}

TEST_F(InvariantCheckerTest, RetargetAndDeleteAreNotViolations) {
  checker_.observeSecret(t_, "es-0", data("app/p0", 1));
  checker_.externalSecretRetargeted("es-0", "app/p1");
  checker_.observeSecret(t_, "es-0", data("app/p0", 1));  // not rewritten yet
  EXPECT_FALSE(checker_.allConverged());
  checker_.observeSecret(t_, "es-0", data("app/p1", 1));
  EXPECT_TRUE(checker_.allConverged());
  checker_.externalSecretDeleted("es-0");
  checker_.observeSecret(t_, "es-0", std::nullopt);  // garbage-collected
  EXPECT_THAT(checker_.violations(), IsEmpty());
  EXPECT_THAT(checker_.liveExternalSecrets(), IsEmpty());
}

TEST_F(InvariantCheckerTest, ReadyFalseCountsAsCausedOnlyNearAFault) {
  checker_.observeReady(t_, "es-0", "True");
  checker_.recordFault(t_ + seconds(1), t_ + seconds(3));
  checker_.observeReady(t_ + seconds(2), "es-0", "False");  // during the fault
  checker_.observeReady(t_ + seconds(4), "es-0", "True");
  checker_.observeReady(t_ + seconds(12), "es-0", "False");  // within the 10 s grace
  checker_.observeReady(t_ + seconds(13), "es-0", "True");
  EXPECT_EQ(checker_.readyFalseCaused(), 2u);
  EXPECT_THAT(checker_.violations(), IsEmpty());
  checker_.observeReady(t_ + seconds(20), "es-0", "False");  // no fault near
  EXPECT_EQ(checker_.readyFalseUncaused(), 1u);
  EXPECT_THAT(checker_.violations(), SizeIs(1));
  EXPECT_FALSE(checker_.allReady());
}

TEST_F(InvariantCheckerTest, CatchUpNeedsTheGenerationOfTheSnapshot) {
  checker_.observeSecret(t_, "es-0", data("app/p0", 1));
  checker_.recordVaultWrite("app/p0", 2);
  checker_.snapshotForCatchUp();
  EXPECT_FALSE(checker_.caughtUp());
  checker_.recordVaultWrite("app/p0", 3);
  checker_.observeSecret(t_, "es-0", data("app/p0", 3));  // newer than the snapshot: caught up
  EXPECT_TRUE(checker_.caughtUp());
}

TEST(InvariantValueTest, CsiValuesMustBeHeld) {
  InvariantChecker checker(seconds(1));
  checker.recordVaultWrite("csi/c0", 4);
  checker.observeValue("file a", "csi/c0", "user", vaultValue("csi/c0", 4, "user"));
  EXPECT_THAT(checker.violations(), IsEmpty());
  checker.observeValue("file a", "csi/c0", "user", vaultValue("csi/c0", 4, "pass"));
  checker.observeValue("file a", "csi/c0", "user", "");
  EXPECT_EQ(checker.violationCount(), 2u);
}

TEST(MountLedgerTest, OnlyWholeWritesAreWhole) {
  MountLedger ledger;
  ledger.recordWrite("/d", {{"a", "1"}, {"b", "1"}});
  ledger.recordWrite("/d", {{"a", "2"}, {"b", "2"}});
  EXPECT_TRUE(ledger.isWhole("/d", {{"a", "2"}, {"b", "2"}}));
  EXPECT_FALSE(ledger.isWhole("/d", {{"a", "1"}, {"b", "2"}}));
  EXPECT_FALSE(ledger.isWhole("/d", {{"a", "1"}}));
  EXPECT_FALSE(ledger.isWhole("/other", {{"a", "1"}, {"b", "1"}}));
  // Names and contents cannot run into each other.
  ledger.recordWrite("/e", {{"a", "12"}});
  EXPECT_FALSE(ledger.isWhole("/e", {{"a1", "2"}}));
  EXPECT_EQ(ledger.writes(), 3u);
}

ProcessStats series(uint64_t rss_start, uint64_t rss_end, uint64_t fds_start, uint64_t fds_end,
                    int n) {
  ProcessStats stats("p#1");
  for (int i = 0; i < n; ++i) {
    stats.add({.at = seconds(i),
               .rss_kb = rss_start + (rss_end - rss_start) * i / (n - 1),
               .fds = fds_start + (fds_end - fds_start) * i / (n - 1)});
  }
  return stats;
}

TEST(ProcessStatsTest, FlatPassesGrowthFailsShortIsNotJudged) {
  const GrowthBounds bounds;
  EXPECT_TRUE(series(10000, 11000, 20, 22, 100).checkFlat(bounds).ok());
  const absl::Status rss = series(10000, 40000, 20, 20, 100).checkFlat(bounds);
  EXPECT_FALSE(rss.ok());
  EXPECT_THAT(std::string(rss.message()), HasSubstr("RSS grew"));
  const absl::Status fds = series(10000, 10000, 20, 80, 100).checkFlat(bounds);
  EXPECT_THAT(std::string(fds.message()), HasSubstr("fds grew"));
  const ProcessStats short_lived = series(10000, 90000, 20, 90, 20);
  EXPECT_FALSE(short_lived.judged(bounds));
  EXPECT_TRUE(short_lived.checkFlat(bounds).ok());
  EXPECT_EQ(series(10000, 90000, 20, 90, 20).peakRssKb(), 90000u);
}

TEST(ProcessStatsTest, SamplesThisProcess) {
  auto sample = sampleProcess(::getpid(), milliseconds(5));
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_GT(sample->rss_kb, 0u);
  EXPECT_GE(sample->fds, 3u);  // stdin, stdout, stderr at least
  EXPECT_EQ(sample->at, milliseconds(5));
  EXPECT_TRUE(absl::IsNotFound(sampleProcess(0x7ffffff0, milliseconds(0)).status()));
}

}  // namespace
}  // namespace secretsync::soak
