#include "pkg/kube/event_recorder.h"

#include <condition_variable>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pkg/kube/api_time.h"
#include "test/mocks/kube/fake_kube_client.h"
#include "test/support/manual_clock.h"

namespace secretsync::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test::KubeVerb;

class EventRecorderTest : public ::testing::Test {
 protected:
  EventRecorderOptions options() {
    EventRecorderOptions o;
    o.reporting_instance = "secretsync-7d9f-abcde";
    o.max_real_wait = milliseconds(1);
    o.retry_interval = milliseconds(0);
    return o;
  }

  std::unique_ptr<EventRecorder> recorder(EventRecorderOptions o) {
    auto created = EventRecorder::create(fake_, clock_, std::move(o));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? std::move(*created) : nullptr;
  }

  static ObjectReference externalSecret(const std::string& name = "db") {
    return ObjectReference{.api_version = "external-secrets.io/v1",
                           .kind = "ExternalSecret",
                           .namespace_name = "prod",
                           .name = name,
                           .uid = "uid-" + name,
                           .resource_version = "42"};
  }

  std::vector<json> events(const std::string& ns = "prod") {
    return fake_.objects(resources::events(), ns);
  }

  int writes(KubeVerb verb) {
    int n = 0;
    for (const auto& w : fake_.writes()) n += w.verb == verb ? 1 : 0;
    return n;
  }

  test::ManualClock clock_;
  test::FakeKubeClient fake_{clock_};
};

// An Event carries the object, reason, message, type, source and reporting fields, in the
// object's namespace, named "<object>.<16 hex>".
TEST_F(EventRecorderTest, WritesCoreV1Event) {
  auto rec = recorder(options());
  rec->record(externalSecret(), EventType::kWarning, "SyncFailed",
              "could not read secret/app/db: permission denied");
  rec->shutdown();
  const auto written = events();
  ASSERT_EQ(written.size(), 1u);
  const json& e = written[0];
  EXPECT_TRUE(
      std::regex_match(e["metadata"]["name"].get<std::string>(), std::regex("db\\.[0-9a-f]{16}")))
      << e["metadata"]["name"];
  EXPECT_EQ(e["involvedObject"], (json{{"apiVersion", "external-secrets.io/v1"},
                                       {"kind", "ExternalSecret"},
                                       {"name", "db"},
                                       {"namespace", "prod"},
                                       {"uid", "uid-db"},
                                       {"resourceVersion", "42"}}));
  EXPECT_EQ(e["reason"], "SyncFailed");
  EXPECT_EQ(e["message"], "could not read secret/app/db: permission denied");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["source"], (json{{"component", "secretsync"}}));
  EXPECT_EQ(e["reportingComponent"], "secretsync");
  EXPECT_EQ(e["reportingInstance"], "secretsync-7d9f-abcde");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["firstTimestamp"], formatTime(clock_.now()));
  EXPECT_EQ(e["lastTimestamp"], formatTime(clock_.now()));
  EXPECT_EQ(rec->stats().created, 1u);
}

// The same event three times is one create and two patches; the Event counts 3 and its
// lastTimestamp is the third one's.
TEST_F(EventRecorderTest, RepeatsAggregateIntoCount) {
  auto rec = recorder(options());
  const common::SystemTime first = clock_.now();
  for (int i = 0; i < 3; ++i) {
    rec->record(externalSecret(), EventType::kNormal, "Synced", "synced 3 keys");
    clock_.advance(seconds(5));
  }
  rec->shutdown();
  const auto written = events();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0]["count"], 3);
  EXPECT_EQ(written[0]["firstTimestamp"], formatTime(first));
  EXPECT_EQ(written[0]["lastTimestamp"], formatTime(first + seconds(10)));
  EXPECT_EQ(writes(KubeVerb::kCreate), 1);
  EXPECT_EQ(writes(KubeVerb::kPatch), 2);
  const EventRecorderStats stats = rec->stats();
  EXPECT_EQ(stats.created, 1u);
  EXPECT_EQ(stats.patched, 2u);
}

// Another message, reason, type or object is another Event.
TEST_F(EventRecorderTest, DifferentEventsAreDistinct) {
  auto rec = recorder(options());
  rec->record(externalSecret(), EventType::kNormal, "Synced", "synced 3 keys");
  rec->record(externalSecret(), EventType::kNormal, "Synced", "synced 4 keys");
  rec->record(externalSecret(), EventType::kWarning, "Synced", "synced 4 keys");
  rec->record(externalSecret(), EventType::kWarning, "SyncFailed", "synced 4 keys");
  rec->record(externalSecret("api"), EventType::kWarning, "SyncFailed", "synced 4 keys");
  rec->shutdown();
  const auto written = events();
  ASSERT_EQ(written.size(), 5u);
  std::set<std::string> names;
  for (const json& e : written) {
    EXPECT_EQ(e["count"], 1);
    names.insert(e["metadata"]["name"].get<std::string>());
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(writes(KubeVerb::kPatch), 0);
}

// A repeat after the aggregation window starts a new Event.
TEST_F(EventRecorderTest, RepeatAfterWindowCreatesNewEvent) {
  EventRecorderOptions o = options();
  o.aggregation_window = seconds(60);
  auto rec = recorder(o);
  rec->record(externalSecret(), EventType::kNormal, "Synced", "ok");
  while (rec->stats().created < 1) std::this_thread::yield();
  clock_.advance(seconds(61));
  rec->record(externalSecret(), EventType::kNormal, "Synced", "ok");
  rec->shutdown();
  EXPECT_EQ(events().size(), 2u);
  EXPECT_EQ(writes(KubeVerb::kPatch), 0);
}

// When the Event to update is gone (expired), the repeat creates a new one.
TEST_F(EventRecorderTest, RepeatOfExpiredEventCreatesNewOne) {
  auto rec = recorder(options());
  rec->record(externalSecret(), EventType::kNormal, "Synced", "ok");
  while (rec->stats().created < 1) std::this_thread::yield();
  const std::string name = events()[0]["metadata"]["name"];
  ASSERT_TRUE(fake_.remove(resources::events(), "prod", name).ok());
  rec->record(externalSecret(), EventType::kNormal, "Synced", "ok");
  rec->shutdown();
  ASSERT_EQ(events().size(), 1u);
  EXPECT_NE(events()[0]["metadata"]["name"], name);
  EXPECT_EQ(rec->stats().created, 2u);
  EXPECT_EQ(rec->stats().failed, 0u);
}

// A flapping object gets its burst of 25 events, then one per refill interval; other objects
// are not affected.
TEST_F(EventRecorderTest, SpamFilterLimitsEachObject) {
  auto rec = recorder(options());
  for (int i = 0; i < 30; ++i) {
    rec->record(externalSecret(), EventType::kWarning, "SyncFailed",
                "attempt " + std::to_string(i));
  }
  rec->record(externalSecret("other"), EventType::kWarning, "SyncFailed", "attempt");
  EXPECT_EQ(rec->stats().dropped_spam, 5u);
  clock_.advance(seconds(300));
  rec->record(externalSecret(), EventType::kWarning, "SyncFailed", "after refill");
  rec->record(externalSecret(), EventType::kWarning, "SyncFailed", "still flapping");
  rec->shutdown();
  const EventRecorderStats stats = rec->stats();
  EXPECT_EQ(stats.recorded, 27u);
  EXPECT_EQ(stats.dropped_spam, 6u);
  EXPECT_EQ(events().size(), 27u);
}

// When the queue is full (the API is slow), record() drops and counts instead of blocking.
TEST_F(EventRecorderTest, FullQueueDrops) {
  EventRecorderOptions o = options();
  o.queue_capacity = 2;
  auto rec = recorder(o);
  std::mutex mu;
  std::condition_variable cv;
  bool blocked = false;
  bool release = false;
  fake_.onNextCall(KubeVerb::kCreate, [&] {
    std::unique_lock lock(mu);
    blocked = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  rec->record(externalSecret("a"), EventType::kNormal, "R", "m");  // taken by the worker
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return blocked; });
  }
  rec->record(externalSecret("b"), EventType::kNormal, "R", "m");
  rec->record(externalSecret("c"), EventType::kNormal, "R", "m");
  rec->record(externalSecret("d"), EventType::kNormal, "R", "m");  // dropped
  EXPECT_EQ(rec->stats().dropped_full, 1u);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  rec->shutdown();
  EXPECT_EQ(events().size(), 3u);
}

// shutdown() writes everything queued before it returns; later records are ignored.
TEST_F(EventRecorderTest, ShutdownDrains) {
  auto rec = recorder(options());
  for (int i = 0; i < 50; ++i) {
    rec->record(externalSecret("obj-" + std::to_string(i)), EventType::kNormal, "Synced", "ok");
  }
  rec->shutdown();
  EXPECT_EQ(events().size(), 50u);
  rec->record(externalSecret("late"), EventType::kNormal, "Synced", "ok");
  rec->shutdown();
  EXPECT_EQ(events().size(), 50u);
  EXPECT_EQ(rec->stats().created, 50u);
}

// Retryable errors are retried; others fail at once and are counted.
TEST_F(EventRecorderTest, RetriesOnlyRetryableErrors) {
  auto rec = recorder(options());
  fake_.failNext(KubeVerb::kCreate, 2, 503, "ServiceUnavailable");
  rec->record(externalSecret("a"), EventType::kNormal, "Synced", "ok");
  while (rec->stats().created < 1) std::this_thread::yield();
  fake_.failNext(KubeVerb::kCreate, 1, 422, "Invalid");
  rec->record(externalSecret("b"), EventType::kNormal, "Synced", "ok");
  rec->shutdown();
  EXPECT_EQ(fake_.calls(KubeVerb::kCreate), 4);  // a: 3 attempts; b: 1
  EXPECT_EQ(rec->stats().created, 1u);
  EXPECT_EQ(rec->stats().failed, 1u);
}

// Messages are cut to 1024 bytes without splitting a UTF-8 character; long object names still
// give valid Event names.
TEST_F(EventRecorderTest, TruncatesMessageAndName) {
  auto rec = recorder(options());
  rec->record(externalSecret(std::string(253, 'n')), EventType::kNormal, "Synced",
              std::string(1023, 'a') + "\xc3\xa9" + "tail");
  rec->shutdown();
  const auto written = events();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0]["message"], std::string(1023, 'a'));
  const std::string name = written[0]["metadata"]["name"];
  EXPECT_LE(name.size(), 253u);
  EXPECT_TRUE(std::regex_match(name, std::regex("n+\\.[0-9a-f]{16}")));
}

// Events about cluster-scoped objects (ClusterSecretStore) go to "default".
TEST_F(EventRecorderTest, ClusterScopedObjectsUseDefaultNamespace) {
  auto rec = recorder(options());
  rec->record(
      ObjectReference{
          .api_version = "external-secrets.io/v1", .kind = "ClusterSecretStore", .name = "vault"},
      EventType::kNormal, "Valid", "store validated");
  rec->shutdown();
  const auto written = events("default");
  ASSERT_EQ(written.size(), 1u);
  EXPECT_FALSE(written[0]["involvedObject"].contains("namespace"));
}

// Bad options are refused, naming the field.
TEST_F(EventRecorderTest, RejectsBadOptions) {
  EventRecorderOptions o = options();
  o.queue_capacity = 0;
  auto bad = EventRecorder::create(fake_, clock_, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("queue capacity"), absl::string_view::npos);
  o = options();
  o.reporting_instance = std::string(129, 'x');
  EXPECT_FALSE(EventRecorder::create(fake_, clock_, o).ok());
}

}  // namespace
}  // namespace secretsync::kube
