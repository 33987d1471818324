#include "pkg/kube/leader_elector.h"

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/api_time.h"
#include "test/mocks/kube/fake_kube_client.h"
#include "test/support/manual_clock.h"

namespace secretsync::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test::KubeVerb;

// Polls `done` in real time; the electors' threads act on the manual clock within a millisecond.
bool eventually(const std::function<bool()>& done, milliseconds limit = milliseconds(10000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// What one elector's callbacks saw.
struct Events {
  std::mutex mu;
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  std::vector<std::string> new_leaders;
  std::vector<std::string> leaders() {
    std::lock_guard lock(mu);
    return new_leaders;
  }
};

class LeaderElectorTest : public ::testing::Test {
 protected:
  LeaderElectorOptions options(const std::string& identity, Events* events = nullptr) {
    LeaderElectorOptions o;
    o.namespace_name = "secretsync";
    o.name = "secretsync-leader";
    o.identity = identity;
    o.random = [] { return 0.0; };
    o.max_real_wait = milliseconds(1);
    if (events != nullptr) {
      o.on_started_leading = [events] { ++events->started; };
      o.on_stopped_leading = [events] { ++events->stopped; };
      o.on_new_leader = [events](const std::string& id) {
        std::lock_guard lock(events->mu);
        events->new_leaders.push_back(id);
      };
    }
    return o;
  }

  std::unique_ptr<LeaderElector> elector(LeaderElectorOptions o) {
    auto created = LeaderElector::create(fake_, clock_, std::move(o));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? std::move(*created) : nullptr;
  }

  json spec() {
    auto lease = fake_.object(resources::leases(), "secretsync", "secretsync-leader");
    return lease ? (*lease)["spec"] : json();
  }

  // Moves the manual clock in small steps until `done` or `limit` of clock time has passed.
  // @return the clock time it took, or nullopt.
  std::optional<milliseconds> advanceUntil(const std::function<bool()>& done, milliseconds limit) {
    for (milliseconds passed(0); passed <= limit; passed += milliseconds(100)) {
      if (eventually(done, milliseconds(3))) return passed;
      clock_.advance(milliseconds(100));
    }
    return std::nullopt;
  }

  test::ManualClock clock_;
  test::FakeKubeClient fake_{clock_};
};

// Timestamps are written as the API's Time and MicroTime: UTC, whole seconds or 6 digits.
TEST_F(LeaderElectorTest, TimeFormats) {
  const common::SystemTime t = common::SystemTime(seconds(1'800'000'000)) +
                               std::chrono::duration_cast<common::SystemTime::duration>(
                                   std::chrono::nanoseconds(123'456'789));
  EXPECT_EQ(formatMicroTime(t), "2027-01-15T08:00:00.123456Z");
  EXPECT_EQ(formatTime(t), "2027-01-15T08:00:00Z");
}

// The first candidate creates the Lease; a second one stands by while it is valid.
TEST_F(LeaderElectorTest, FirstCandidateCreatesLeaseSecondStandsBy) {
  auto a = elector(options("a"));
  auto b = elector(options("b"));
  ASSERT_TRUE(a->tryAcquireOrRenew());
  EXPECT_EQ(spec(), (json{{"holderIdentity", "a"},
                          {"leaseDurationSeconds", 15},
                          {"acquireTime", "2027-01-15T08:00:00.000000Z"},
                          {"renewTime", "2027-01-15T08:00:00.000000Z"},
                          {"leaseTransitions", 0}}));
  EXPECT_FALSE(b->tryAcquireOrRenew());
  EXPECT_EQ(b->leader(), "a");
  clock_.advance(seconds(2));
  ASSERT_TRUE(a->tryAcquireOrRenew());
  EXPECT_EQ(spec()["renewTime"], "2027-01-15T08:00:02.000000Z");
  EXPECT_EQ(spec()["acquireTime"], "2027-01-15T08:00:00.000000Z");
  EXPECT_EQ(spec()["leaseTransitions"], 0);
}

// A leader that stops renewing is replaced once lease_duration has passed on the standby's own
// clock since it last saw the record change; the takeover counts a transition.
TEST_F(LeaderElectorTest, StandbyTakesOverAfterLeaseDurationWithoutRenewals) {
  auto a = elector(options("a"));
  auto b = elector(options("b"));
  ASSERT_TRUE(a->tryAcquireOrRenew());
  ASSERT_FALSE(b->tryAcquireOrRenew());  // b observes the record now
  clock_.advance(seconds(10));
  ASSERT_TRUE(a->tryAcquireOrRenew());  // a renews: the record changes
  clock_.advance(seconds(5));
  EXPECT_FALSE(b->tryAcquireOrRenew());  // b sees the change now: valid 15 s from here
  clock_.advance(seconds(14));
  EXPECT_FALSE(b->tryAcquireOrRenew());
  clock_.advance(seconds(1));
  ASSERT_TRUE(b->tryAcquireOrRenew());
  EXPECT_EQ(spec()["holderIdentity"], "b");
  EXPECT_EQ(spec()["leaseTransitions"], 1);
  EXPECT_EQ(spec()["acquireTime"], formatMicroTime(clock_.now()));
  // The old leader now stands by.
  EXPECT_FALSE(a->tryAcquireOrRenew());
  EXPECT_EQ(a->leader(), "b");
}

// Validity never comes from the remote renewTime: a record with an ancient renewTime written
// by a skewed node still counts as valid for lease_duration after we first see it.
TEST_F(LeaderElectorTest, ExpiryUsesOurObservationNotRemoteTimestamps) {
  ASSERT_TRUE(
      fake_
          .seed(resources::leases(),
                json{{"metadata", {{"name", "secretsync-leader"}, {"namespace", "secretsync"}}},
                     {"spec",
                      {{"holderIdentity", "skewed"},
                       {"leaseDurationSeconds", 15},
                       {"acquireTime", "2000-01-01T00:00:00.000000Z"},
                       {"renewTime", "2000-01-01T00:00:00.000000Z"},
                       {"leaseTransitions", 4}}}})
          .ok());
  auto b = elector(options("b"));
  EXPECT_FALSE(b->tryAcquireOrRenew());
  clock_.advance(seconds(14));
  EXPECT_FALSE(b->tryAcquireOrRenew());
  clock_.advance(seconds(1));
  ASSERT_TRUE(b->tryAcquireOrRenew());
  EXPECT_EQ(spec()["leaseTransitions"], 5);
}

// Two candidates race for an expired lease: the one whose PUT carries a stale resourceVersion
// gets 409 and stays a candidate; the lease names the winner.
TEST_F(LeaderElectorTest, ConflictMeansLostRace) {
  ASSERT_TRUE(
      fake_
          .seed(resources::leases(),
                json{{"metadata", {{"name", "secretsync-leader"}, {"namespace", "secretsync"}}},
                     {"spec", {{"holderIdentity", "old"}, {"leaseDurationSeconds", 15}}}})
          .ok());
  auto a = elector(options("a"));
  auto b = elector(options("b"));
  ASSERT_FALSE(a->tryAcquireOrRenew());
  ASSERT_FALSE(b->tryAcquireOrRenew());
  clock_.advance(seconds(16));
  // Between b's read and b's write, a takes the lease.
  bool a_won = false;
  fake_.onNextCall(KubeVerb::kUpdate, [&] { a_won = a->tryAcquireOrRenew(); });
  fake_.clearWrites();
  EXPECT_FALSE(b->tryAcquireOrRenew());
  EXPECT_TRUE(a_won);
  EXPECT_EQ(spec()["holderIdentity"], "a");
  EXPECT_EQ(spec()["leaseTransitions"], 1);
  EXPECT_EQ(fake_.writes().size(), 1u);  // a's update; b's was refused
  EXPECT_EQ(fake_.calls(KubeVerb::kUpdate), 2);
  // b learns the new holder on its next read and stands by.
  EXPECT_FALSE(b->tryAcquireOrRenew());
  EXPECT_EQ(b->leader(), "a");
}

// When the leader's optimistic renewal conflicts (someone touched the lease), it reads the
// lease and renews on the fresh version, keeping acquireTime and transitions.
TEST_F(LeaderElectorTest, LeaderFallsBackToReadOnConflict) {
  auto a = elector(options("a"));
  ASSERT_TRUE(a->tryAcquireOrRenew());
  ASSERT_TRUE(fake_
                  .patch(resources::leases(), "secretsync", "secretsync-leader", PatchType::kMerge,
                         json{{"metadata", {{"labels", {{"touched", "yes"}}}}}})
                  .ok());
  clock_.advance(seconds(2));
  const int64_t gets = fake_.calls(KubeVerb::kGet);
  ASSERT_TRUE(a->tryAcquireOrRenew());
  EXPECT_EQ(fake_.calls(KubeVerb::kGet), gets + 1);
  EXPECT_EQ(spec()["renewTime"], "2027-01-15T08:00:02.000000Z");
  EXPECT_EQ(spec()["acquireTime"], "2027-01-15T08:00:00.000000Z");
  EXPECT_EQ(spec()["leaseTransitions"], 0);
}

// A create that loses to another candidate (AlreadyExists) is a lost race, not leadership.
TEST_F(LeaderElectorTest, CreateRaceLost) {
  auto a = elector(options("a"));
  fake_.failNext(KubeVerb::kCreate, 1, 409, "AlreadyExists");
  EXPECT_FALSE(a->tryAcquireOrRenew());
  EXPECT_TRUE(a->tryAcquireOrRenew());
}

// With threads: one of two electors leads, the other stands by and reports the leader; when the
// leader stops without releasing, the standby takes over after the lease duration.
TEST_F(LeaderElectorTest, TwoElectorsOneLeadsThenFailover) {
  Events events_a, events_b;
  auto a = elector(options("a", &events_a));
  auto b = elector(options("b", &events_b));
  a->start();
  ASSERT_TRUE(eventually([&] { return a->isLeader(); }));
  b->start();
  ASSERT_TRUE(eventually([&] { return b->leader() == "a"; }));
  // Time passes; a keeps renewing, b keeps standing by.
  ASSERT_FALSE(advanceUntil([&] { return b->isLeader(); }, milliseconds(20000)).has_value());
  EXPECT_TRUE(a->isLeader());
  EXPECT_EQ(events_a.started.load(), 1);
  EXPECT_EQ(events_b.started.load(), 0);
  EXPECT_EQ(events_b.leaders(), std::vector<std::string>{"a"});

  a->stop();  // no release: b must wait for the lease to expire
  EXPECT_EQ(events_a.stopped.load(), 1);
  EXPECT_FALSE(a->isLeader());
  EXPECT_EQ(spec()["holderIdentity"], "a");
  const auto took = advanceUntil([&] { return b->isLeader(); }, milliseconds(30000));
  ASSERT_TRUE(took.has_value());
  // a renewed at most a retry period before it stopped; b needs 15 s from seeing that renewal.
  EXPECT_GE(*took, milliseconds(13000));
  EXPECT_LE(*took, milliseconds(20000));
  EXPECT_EQ(spec()["holderIdentity"], "b");
  EXPECT_EQ(spec()["leaseTransitions"], 1);
  EXPECT_EQ(events_b.started.load(), 1);
  EXPECT_EQ(events_b.leaders(), (std::vector<std::string>{"a", "b"}));
}

// When renewals fail for renew_deadline, the leader stops leading (and does not write).
TEST_F(LeaderElectorTest, RenewFailuresPastDeadlineStopLeading) {
  Events events;
  auto a = elector(options("a", &events));
  a->start();
  ASSERT_TRUE(eventually([&] { return a->isLeader(); }));
  fake_.failNext(KubeVerb::kUpdate, 1000, 500, "InternalError");
  fake_.failNext(KubeVerb::kGet, 1000, 503, "ServiceUnavailable");
  const auto lost = advanceUntil([&] { return events.stopped.load() == 1; }, milliseconds(60000));
  ASSERT_TRUE(lost.has_value());
  // One retry period until the round starts, then renew_deadline of failures.
  EXPECT_GE(*lost, milliseconds(12000));
  EXPECT_LE(*lost, milliseconds(15000));
  EXPECT_FALSE(a->isLeader());
  EXPECT_EQ(events.started.load(), 1);
  // It keeps trying as a candidate and leads again once the API answers.
  fake_.clearFaults();
  ASSERT_TRUE(advanceUntil([&] { return a->isLeader(); }, milliseconds(10000)).has_value());
  EXPECT_EQ(events.started.load(), 2);
}

// A configured release hands the lease back on stop, so a standby takes over at once.
TEST_F(LeaderElectorTest, ReleaseOnStop) {
  Events events;
  LeaderElectorOptions o = options("a", &events);
  o.release_on_stop = true;
  auto a = elector(std::move(o));
  a->start();
  ASSERT_TRUE(eventually([&] { return a->isLeader(); }));
  a->stop();
  EXPECT_EQ(events.stopped.load(), 1);
  EXPECT_EQ(spec()["holderIdentity"], "");
  EXPECT_EQ(spec()["leaseDurationSeconds"], 1);
  EXPECT_EQ(spec()["leaseTransitions"], 0);
  auto b = elector(options("b"));
  ASSERT_TRUE(b->tryAcquireOrRenew());
  EXPECT_EQ(spec()["holderIdentity"], "b");
  EXPECT_EQ(spec()["leaseTransitions"], 1);
}

// Without release_on_stop the lease is left as it was; a non-leader's release writes nothing.
TEST_F(LeaderElectorTest, NoReleaseUnlessConfiguredOrLeading) {
  auto a = elector(options("a"));
  a->start();
  ASSERT_TRUE(eventually([&] { return a->isLeader(); }));
  a->stop();
  EXPECT_EQ(spec()["holderIdentity"], "a");
  auto b = elector(options("b"));
  ASSERT_FALSE(b->tryAcquireOrRenew());
  fake_.clearWrites();
  EXPECT_TRUE(b->release());
  EXPECT_TRUE(fake_.writes().empty());
}

// Options are checked as client-go checks them, naming what is wrong.
TEST_F(LeaderElectorTest, RejectsBadOptions) {
  LeaderElectorOptions o = options("a");
  o.renew_deadline = o.lease_duration;
  auto bad = LeaderElector::create(fake_, clock_, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("renew deadline"), absl::string_view::npos);
  o = options("a");
  o.retry_period = seconds(9);
  EXPECT_FALSE(LeaderElector::create(fake_, clock_, o).ok());
  o = options("");
  EXPECT_FALSE(LeaderElector::create(fake_, clock_, o).ok());
  EXPECT_TRUE(LeaderElector::create(fake_, clock_, options("a")).ok());
  const LeaderElectorOptions defaults;
  EXPECT_EQ(defaults.lease_duration, seconds(15));
  EXPECT_EQ(defaults.renew_deadline, seconds(10));
  EXPECT_EQ(defaults.retry_period, seconds(2));
}

}  // namespace
}  // namespace secretsync::kube
