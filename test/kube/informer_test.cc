#include "pkg/kube/informer.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/kube/rest_kube_client.h"
#include "test/kube/kube_test_env.h"
#include "test/support/kube_double/kube_faults.h"
#include "test/support/manual_clock.h"

namespace secretsync::kube {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const common::http::CurlGlobal kCurlGlobal;

constexpr const char* kNs = kubetest::kTestNamespace;
// Generous: conditions are waited for, never slept on; this only bounds a broken run.
constexpr std::chrono::seconds kWait{20};

json secret(const std::string& name, const std::string& app = "x",
            const std::string& value = "YQ==") {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", {{"app", app}}}}},
          {"data", {{"k", value}}}};
}

// Records handler calls as "add app/a", "update app/a", "delete app/a"; can hold the informer
// thread inside the add handler of one object.
class Recorder {
 public:
  InformerHandlers handlers() {
    return {
        .on_add =
            [this](const json& o) {
              record("add", o);
              std::unique_lock lock(mu_);
              if (o["metadata"]["name"] == block_on_) {
                blocked_ = true;
                cv_.notify_all();
                cv_.wait(lock, [&] { return !block_on_.has_value(); });
                blocked_ = false;
              }
            },
        .on_update = [this](const json&, const json& o) { record("update", o); },
        .on_delete = [this](const json& o) { record("delete", o); },
    };
  }

  void blockOnAddOf(const std::string& name) {
    std::lock_guard lock(mu_);
    block_on_ = name;
  }
  bool waitBlocked() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return blocked_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    block_on_.reset();
    cv_.notify_all();
  }

  // Waits until `call` was recorded.
  bool waitFor(const std::string& call) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(
        lock, kWait, [&] { return std::find(calls_.begin(), calls_.end(), call) != calls_.end(); });
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    calls_.clear();
  }

 private:
  void record(const std::string& what, const json& object) {
    std::lock_guard lock(mu_);
    calls_.push_back(absl::StrCat(what, " ", object["metadata"]["namespace"].get<std::string>(),
                                  "/", object["metadata"]["name"].get<std::string>()));
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
  std::optional<std::string> block_on_;
  bool blocked_ = false;
};

// Polls `predicate` (a state owned by another thread without a condition to wait on) until it
// holds or kWait passes.
template <typename Predicate>
bool eventually(Predicate predicate) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kube_ = kubetest::startHttpsKubeDouble(std::chrono::milliseconds(100));
    ASSERT_NE(kube_, nullptr);
    auto client = RestKubeClient::create(kubetest::configFor(*kube_), nullptr);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    for (const char* name : {"a", "b", "c"}) ASSERT_TRUE(kube_->putObject(secret(name)).ok());
    ASSERT_TRUE(kube_->putObject(secret("unrelated", "y")).ok());
  }

  std::unique_ptr<Informer> makeInformer(common::Clock* clock = nullptr) {
    InformerOptions options;
    options.clock = clock;
    options.max_real_wait = std::chrono::milliseconds(1);
    options.resource = resources::secrets();
    options.namespace_name = kNs;
    options.label_selector = "app=x";
    options.page_size = 2;  // the initial list takes two pages
    options.backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(50), 2.0, 1.0};
    return std::make_unique<Informer>(*client_, options, recorder_.handlers());
  }

  // Starts `informer` and, once it watches, holds its thread inside the add handler of a new
  // object, ends its watch and runs `change` while no watch is open.
  // @return the number of list requests before the change.
  uint64_t changeBehindItsBack(Informer& informer, const std::function<void()>& change) {
    informer.start();
    EXPECT_TRUE(informer.waitForSync(kWait));
    EXPECT_TRUE(eventually([&] { return kube_->openWatches() == 1; }));
    const uint64_t listed = lists();
    recorder_.blockOnAddOf("trigger");
    EXPECT_TRUE(kube_->putObject(secret("trigger")).ok());
    EXPECT_TRUE(recorder_.waitBlocked());
    kube_->closeWatches();
    EXPECT_TRUE(eventually([&] { return kube_->openWatches() == 0; }));
    change();
    recorder_.clear();
    recorder_.release();
    return listed;
  }

  uint64_t lists() const { return kube_->requestCount("list", "secrets"); }
  uint64_t watches() const { return kube_->requestCount("watch", "secrets"); }

  std::unique_ptr<test::KubeDouble> kube_;
  std::unique_ptr<RestKubeClient> client_;
  Recorder recorder_;
};

// The first list fills the cache (adds for each object, across pages); watch events then add,
// update and delete, and objects outside the selector never show up.
TEST_F(InformerTest, InitialListThenEvents) {
  auto informer = makeInformer();
  EXPECT_FALSE(informer->hasSynced());
  informer->start();
  ASSERT_TRUE(informer->waitForSync(kWait));
  EXPECT_THAT(recorder_.calls(), UnorderedElementsAre("add app/a", "add app/b", "add app/c"));
  ASSERT_NE(informer->get(kNs, "a"), nullptr);
  EXPECT_EQ((*informer->get(kNs, "a"))["kind"], "Secret");
  EXPECT_EQ(informer->get(kNs, "unrelated"), nullptr);
  EXPECT_EQ(informer->list().size(), 3u);
  EXPECT_EQ(lists(), 2u);  // two pages

  recorder_.clear();
  ASSERT_TRUE(eventually([&] { return kube_->openWatches() == 1; }));
  ASSERT_TRUE(kube_->putObject(secret("d")).ok());
  ASSERT_TRUE(recorder_.waitFor("add app/d"));
  ASSERT_TRUE(kube_->putObject(secret("a", "x", "Yg==")).ok());
  ASSERT_TRUE(recorder_.waitFor("update app/a"));
  ASSERT_TRUE(kube_->deleteObject("v1", "Secret", kNs, "b").ok());
  ASSERT_TRUE(recorder_.waitFor("delete app/b"));
  ASSERT_TRUE(kube_->putObject(secret("unrelated", "y", "Yg==")).ok());
  // Leaving the selector is a delete.
  ASSERT_TRUE(kube_->putObject(secret("c", "z")).ok());
  ASSERT_TRUE(recorder_.waitFor("delete app/c"));
  EXPECT_THAT(recorder_.calls(),
              ElementsAre("add app/d", "update app/a", "delete app/b", "delete app/c"));
  EXPECT_EQ((*informer->get(kNs, "a"))["data"]["k"], "Yg==");
  EXPECT_EQ(informer->get(kNs, "b"), nullptr);
  EXPECT_EQ(informer->list().size(), 2u);
  EXPECT_EQ(lists(), 2u);
}

// A bookmark moves the resourceVersion forward without calling any handler.
TEST_F(InformerTest, BookmarkAdvancesResourceVersionOnly) {
  auto informer = makeInformer();
  informer->start();
  ASSERT_TRUE(informer->waitForSync(kWait));
  ASSERT_TRUE(eventually([&] { return kube_->openWatches() == 1; }));
  recorder_.clear();
  const std::string before = informer->lastResourceVersion();
  // A change of another kind moves the server's version; only a bookmark can tell the informer.
  ASSERT_TRUE(kube_
                  ->putObject({{"apiVersion", "v1"},
                               {"kind", "ConfigMap"},
                               {"metadata", {{"name", "cm"}, {"namespace", kNs}}},
                               {"data", {{"x", "y"}}}})
                  .ok());
  const std::string now = std::to_string(kube_->currentResourceVersion());
  ASSERT_NE(before, now);
  EXPECT_TRUE(eventually([&] { return informer->lastResourceVersion() == now; }));
  EXPECT_THAT(recorder_.calls(), IsEmpty());
}

// A watch that the server closes is resumed from the last version, without a list.
TEST_F(InformerTest, ClosedWatchResumesWithoutRelist) {
  auto informer = makeInformer();
  informer->start();
  ASSERT_TRUE(informer->waitForSync(kWait));
  ASSERT_TRUE(eventually([&] { return kube_->openWatches() == 1; }));
  const uint64_t listed = lists();
  kube_->closeWatches();
  ASSERT_TRUE(eventually([&] { return watches() == 2 && kube_->openWatches() == 1; }));
  ASSERT_TRUE(kube_->putObject(secret("after")).ok());
  ASSERT_TRUE(recorder_.waitFor("add app/after"));
  EXPECT_EQ(lists(), listed);
}

// A 410 relists; objects deleted while no watch was open are reported as deletes.
TEST_F(InformerTest, GoneRelistsAndReportsDeletesMissedMeanwhile) {
  auto informer = makeInformer();
  const uint64_t listed = changeBehindItsBack(*informer, [&] {
    ASSERT_TRUE(kube_->deleteObject("v1", "Secret", kNs, "b").ok());
    ASSERT_TRUE(kube_->putObject(secret("e")).ok());
    kube_->forceGoneOnNextWatch();
  });

  ASSERT_TRUE(recorder_.waitFor("delete app/b"));
  ASSERT_TRUE(recorder_.waitFor("add app/e"));
  EXPECT_EQ(lists(), listed + 2);  // one relist of two pages
  EXPECT_EQ(informer->get(kNs, "b"), nullptr);
  EXPECT_NE(informer->get(kNs, "e"), nullptr);
  // The unchanged objects were not reported again.
  EXPECT_THAT(recorder_.calls(), UnorderedElementsAre("delete app/b", "add app/e"));
}

// When the relist from the last version is also too old, the informer lists with a consistent
// read ("").
TEST_F(InformerTest, CompactedHistoryFallsBackToAConsistentList) {
  auto informer = makeInformer();
  const uint64_t listed = changeBehindItsBack(*informer, [&] {
    ASSERT_TRUE(kube_->deleteObject("v1", "Secret", kNs, "a").ok());
    kube_->compactHistory();
  });

  ASSERT_TRUE(recorder_.waitFor("delete app/a"));
  // The watch got 410, the list at the last version 410 (1 request), then "" (2 pages).
  EXPECT_TRUE(eventually([&] { return lists() == listed + 3; })) << lists() - listed;
  ASSERT_TRUE(eventually([&] { return kube_->openWatches() == 1; }));
  ASSERT_TRUE(kube_->putObject(secret("later")).ok());
  ASSERT_TRUE(recorder_.waitFor("add app/later"));
}

// Failing lists are retried after the backoff delays, measured on the injected clock: nothing
// is retried until it moves, then 800 ms, 1.6 s, 3.2 s apart.
TEST_F(InformerTest, ListFailuresBackOffAndRecover) {
  auto forbidden = test::kube::statusFault(403, "Forbidden", "secrets is forbidden", std::nullopt,
                                           /*times=*/3);
  forbidden.path_prefix = "/api/v1/namespaces/app/secrets";
  const uint64_t id = kube_->addFault(forbidden);
  test::ManualClock clock;
  InformerOptions options;
  options.resource = resources::secrets();
  options.namespace_name = kNs;
  options.label_selector = "app=x";
  options.clock = &clock;
  options.max_real_wait = std::chrono::milliseconds(1);
  options.random = [] { return 0.0; };  // no jitter: the policy's delays exactly
  Informer informer(*client_, options, recorder_.handlers());
  informer.start();
  ASSERT_TRUE(eventually([&] { return kube_->faultHits(id) == 1; }));
  // Moves the clock in 10 ms steps until the next attempt. @return how far it moved.
  const auto advanceUntilRetry = [&] {
    const uint64_t hits = kube_->faultHits(id);
    const auto before = informer.hasSynced();
    std::chrono::milliseconds moved{0};
    while (kube_->faultHits(id) == hits && informer.hasSynced() == before &&
           moved < std::chrono::seconds(60)) {
      clock.advance(std::chrono::milliseconds(10));
      moved += std::chrono::milliseconds(10);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return moved;
  };
  // The lower bounds are the point; the slack above allows for the informer thread reading the
  // clock a few steps late on a loaded machine.
  const auto first = advanceUntilRetry();
  EXPECT_GE(first, std::chrono::milliseconds(800));
  EXPECT_LT(first, std::chrono::milliseconds(1300));
  const auto second = advanceUntilRetry();
  EXPECT_GE(second, std::chrono::milliseconds(1600));
  EXPECT_LT(second, std::chrono::milliseconds(2100));
  EXPECT_FALSE(informer.hasSynced());
  const auto third = advanceUntilRetry();
  EXPECT_GE(third, std::chrono::milliseconds(3200));
  ASSERT_TRUE(informer.waitForSync(kWait));
  EXPECT_EQ(kube_->faultHits(id), 3u);
  EXPECT_EQ(informer.list().size(), 3u);
}

// stop() ends an idle watch and joins promptly; the destructor of a running informer does too.
TEST_F(InformerTest, StopJoinsPromptly) {
  auto informer = makeInformer();
  informer->start();
  ASSERT_TRUE(informer->waitForSync(kWait));
  ASSERT_TRUE(eventually([&] { return kube_->openWatches() == 1; }));
  const auto start = std::chrono::steady_clock::now();
  informer->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  informer->stop();  // idempotent
  EXPECT_TRUE(eventually([&] { return kube_->openWatches() == 0; }));

  auto other = makeInformer();
  other->start();
  ASSERT_TRUE(other->waitForSync(kWait));
  const auto destroy_start = std::chrono::steady_clock::now();
  other.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - destroy_start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace secretsync::kube
