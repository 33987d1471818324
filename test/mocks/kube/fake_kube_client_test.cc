#include "test/mocks/kube/fake_kube_client.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pkg/kube/api_error.h"
#include "test/support/manual_clock.h"

namespace secretsync::test {
namespace {

using nlohmann::json;
namespace resources = kube::resources;

json secret(const std::string& name, json data = json::object()) {
  return json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", name}, {"namespace", "prod"}}},
              {"data", std::move(data)}};
}

json externalSecret(const std::string& name) {
  return json{{"metadata", {{"name", name}, {"namespace", "prod"}}},
              {"spec", {{"refreshInterval", "1h"}}},
              {"status", {{"ready", true}}}};
}

std::string rv(const json& object) { return object["metadata"]["resourceVersion"]; }

class FakeKubeClientTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  FakeKubeClient fake_{clock_};
};

// Create sets uid, creationTimestamp and a new resourceVersion; a second create is
// AlreadyExists; a missing object is NotFound.
TEST_F(FakeKubeClientTest, CreateGetAndErrors) {
  auto created = fake_.create(resources::secrets(), "prod", secret("db"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(rv(*created), "1");
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());
  EXPECT_EQ((*created)["metadata"]["creationTimestamp"], "2027-01-15T08:00:00Z");
  EXPECT_TRUE(
      kube::isAlreadyExists(fake_.create(resources::secrets(), "prod", secret("db")).status()));
  auto missing = fake_.get(resources::secrets(), "prod", "nope");
  EXPECT_TRUE(kube::isNotFound(missing.status()));
  EXPECT_EQ(missing.status().message(), "secrets \"nope\" not found");
  EXPECT_TRUE(kube::isNotFound(fake_.remove(resources::secrets(), "prod", "nope")));
  EXPECT_EQ(fake_.calls(KubeVerb::kCreate), 2);
}

// An update with a stale resourceVersion conflicts; one that changes nothing keeps it.
TEST_F(FakeKubeClientTest, OptimisticConcurrency) {
  json v1 = *fake_.create(resources::secrets(), "prod", secret("db", {{"k", "YQ=="}}));
  json v2 = v1;
  v2["data"]["k"] = "Yg==";
  auto updated = fake_.update(resources::secrets(), "prod", v2);
  ASSERT_TRUE(updated.ok());
  EXPECT_NE(rv(*updated), rv(v1));
  EXPECT_TRUE(kube::isConflict(fake_.update(resources::secrets(), "prod", v2).status()));
  auto same = fake_.update(resources::secrets(), "prod", *updated);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(rv(*same), rv(*updated));
  EXPECT_FALSE(fake_.writes().back().changed);
  // A patch carrying a stale resourceVersion is a conflict too.
  EXPECT_TRUE(
      kube::isConflict(fake_
                           .patch(resources::secrets(), "prod", "db", kube::PatchType::kMerge,
                                  {{"metadata", {{"resourceVersion", rv(v1)}}}})
                           .status()));
}

// Merge patches follow RFC 7386: null deletes, maps merge; JSON patch tests fail with 422.
TEST_F(FakeKubeClientTest, Patches) {
  ASSERT_TRUE(
      fake_.create(resources::secrets(), "prod", secret("db", {{"a", "YQ=="}, {"b", "Yg=="}}))
          .ok());
  auto merged = fake_.patch(resources::secrets(), "prod", "db", kube::PatchType::kMerge,
                            {{"data", {{"a", nullptr}, {"c", "Yw=="}}}});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ((*merged)["data"], (json{{"b", "Yg=="}, {"c", "Yw=="}}));
  auto failed = fake_.patch(resources::secrets(), "prod", "db", kube::PatchType::kJson,
                            json::array({{{"op", "test"}, {"path", "/data/b"}, {"value", "x"}}}));
  EXPECT_EQ(kube::apiErrorInfo(failed.status())->http_status, 422);
  EXPECT_EQ(kube::apiErrorInfo(fake_
                                   .patch(resources::externalSecrets(), "prod", "x",
                                          kube::PatchType::kStrategicMerge, json::object())
                                   .status())
                ->http_status,
            404);
}

// Apply creates, then removes the fields its manager applied before and left out.
TEST_F(FakeKubeClientTest, ApplyOwnsFields) {
  kube::WriteOptions mine{.field_manager = "secretsync"};
  ASSERT_TRUE(
      fake_.apply(resources::secrets(), "prod", secret("db", {{"a", "YQ=="}, {"b", "Yg=="}}), mine)
          .ok());
  ASSERT_TRUE(fake_
                  .patch(resources::secrets(), "prod", "db", kube::PatchType::kMerge,
                         {{"data", {{"other", "bw=="}}}})
                  .ok());
  auto applied = fake_.apply(resources::secrets(), "prod", secret("db", {{"b", "Yg=="}}), mine);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ((*applied)["data"], (json{{"b", "Yg=="}, {"other", "bw=="}}));
}

// Custom resources: status dropped on create, kept by main-resource writes, written only
// through "status", which does not bump generation; a spec change does.
TEST_F(FakeKubeClientTest, CustomResourceStatusAndGeneration) {
  const kube::Resource es = resources::externalSecrets();
  auto created = fake_.create(es, "prod", externalSecret("db"));
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(created->contains("status"));
  EXPECT_EQ((*created)["metadata"]["generation"], 1);
  json with_status = *created;
  with_status["status"] = {{"ready", true}};
  auto status = fake_.update(es, "prod", with_status, {.subresource = "status"});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["status"]["ready"], true);
  EXPECT_EQ((*status)["metadata"]["generation"], 1);
  json spec = *status;
  spec["spec"]["refreshInterval"] = "5m";
  spec["status"] = {{"ready", false}};
  auto updated = fake_.update(es, "prod", spec);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ((*updated)["metadata"]["generation"], 2);
  EXPECT_EQ((*updated)["status"]["ready"], true);
  json no_rv = *updated;
  no_rv["metadata"].erase("resourceVersion");
  EXPECT_EQ(kube::apiErrorInfo(fake_.update(es, "prod", no_rv).status())->http_status, 422);
  EXPECT_EQ(
      kube::apiErrorInfo(
          fake_.patch(es, "prod", "db", kube::PatchType::kStrategicMerge, json::object()).status())
          ->http_status,
      415);
}

// Finalizers hold a deleted object until the last one is removed.
TEST_F(FakeKubeClientTest, Finalizers) {
  const kube::Resource es = resources::externalSecrets();
  json object = externalSecret("db");
  object["metadata"]["finalizers"] = {"example.io/cleanup"};
  ASSERT_TRUE(fake_.create(es, "prod", object).ok());
  ASSERT_TRUE(fake_.remove(es, "prod", "db").ok());
  auto deleting = fake_.get(es, "prod", "db");
  ASSERT_TRUE(deleting.ok());
  EXPECT_TRUE((*deleting)["metadata"].contains("deletionTimestamp"));
  ASSERT_TRUE(fake_
                  .patch(es, "prod", "db", kube::PatchType::kMerge,
                         {{"metadata", {{"finalizers", nullptr}}}})
                  .ok());
  EXPECT_TRUE(kube::isNotFound(fake_.get(es, "prod", "db").status()));
}

// Lists filter by namespace and selectors and page with continue tokens.
TEST_F(FakeKubeClientTest, ListSelectorsAndPages) {
  for (const char* name : {"a", "b", "c"}) {
    json s = secret(name);
    s["metadata"]["labels"] = {{"app", name == std::string("c") ? "other" : "web"}};
    ASSERT_TRUE(fake_.create(resources::secrets(), "prod", s).ok());
  }
  auto web = fake_.list(resources::secrets(), "prod", {.label_selector = "app=web"});
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(web->items.size(), 2u);
  auto not_web = fake_.list(resources::secrets(), "", {.label_selector = "app!=web"});
  ASSERT_EQ(not_web->items.size(), 1u);
  EXPECT_EQ(not_web->items[0]["metadata"]["name"], "c");
  auto by_name = fake_.list(resources::secrets(), "prod", {.field_selector = "metadata.name=b"});
  ASSERT_EQ(by_name->items.size(), 1u);
  auto all = kube::listAll(fake_, resources::secrets(), "prod", {.limit = 2});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->resource_version, fake_.currentResourceVersion());
}

// Faults fail the next calls of a verb without touching state, then stop.
TEST_F(FakeKubeClientTest, FaultsAndHooks) {
  fake_.failNext(KubeVerb::kCreate, 2, 503, "ServiceUnavailable", resources::secrets());
  EXPECT_TRUE(kube::isRetryable(fake_.create(resources::secrets(), "prod", secret("db")).status()));
  EXPECT_TRUE(fake_.create(resources::configMaps(), "prod", secret("cm")).ok());
  EXPECT_FALSE(fake_.create(resources::secrets(), "prod", secret("db")).ok());
  EXPECT_TRUE(fake_.create(resources::secrets(), "prod", secret("db")).ok());
  int hooked = 0;
  fake_.onNextCall(KubeVerb::kGet, [&] { ++hooked; });
  ASSERT_TRUE(fake_.get(resources::secrets(), "prod", "db").ok());
  ASSERT_TRUE(fake_.get(resources::secrets(), "prod", "db").ok());
  EXPECT_EQ(hooked, 1);
  EXPECT_EQ(fake_.writes().size(), 2u);
}

// A watch from "" sends ADDED for what exists, then every change; a watch from a compacted
// version gets an ERROR event and a 410.
TEST_F(FakeKubeClientTest, Watch) {
  ASSERT_TRUE(fake_.create(resources::secrets(), "prod", secret("a")).ok());
  std::vector<kube::WatchEvent> seen;
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    EXPECT_TRUE(fake_
                    .watch(resources::secrets(), "prod", {.stop = &stop},
                           [&](const kube::WatchEvent& e) {
                             seen.push_back(e);
                             return seen.size() < 4;
                           })
                    .ok());
  });
  while (fake_.openWatches() == 0) std::this_thread::yield();
  ASSERT_TRUE(fake_.create(resources::secrets(), "prod", secret("b")).ok());
  ASSERT_TRUE(fake_
                  .patch(resources::secrets(), "prod", "b", kube::PatchType::kMerge,
                         {{"data", {{"k", "YQ=="}}}})
                  .ok());
  ASSERT_TRUE(fake_.remove(resources::secrets(), "prod", "a").ok());
  watcher.join();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].type, kube::WatchEvent::Type::kAdded);
  EXPECT_EQ(seen[1].type, kube::WatchEvent::Type::kAdded);
  EXPECT_EQ(seen[2].type, kube::WatchEvent::Type::kModified);
  EXPECT_EQ(seen[3].type, kube::WatchEvent::Type::kDeleted);
  EXPECT_EQ(seen[3].object["metadata"]["name"], "a");

  fake_.compactHistory();
  std::vector<kube::WatchEvent> gone;
  const absl::Status status = fake_.watch(resources::secrets(), "prod", {.resource_version = "1"},
                                          [&](const kube::WatchEvent& e) {
                                            gone.push_back(e);
                                            return true;
                                          });
  EXPECT_TRUE(kube::isGone(status));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].type, kube::WatchEvent::Type::kError);
  EXPECT_EQ(gone[0].object["code"], 410);
}

// TokenRequest needs the ServiceAccount and at least 10 minutes.
TEST_F(FakeKubeClientTest, RequestToken) {
  EXPECT_TRUE(kube::isNotFound(
      fake_.requestToken("prod", "app", {"vault"}, std::chrono::seconds(3600)).status()));
  ASSERT_TRUE(fake_
                  .seed(resources::serviceAccounts(),
                        {{"metadata", {{"name", "app"}, {"namespace", "prod"}}}})
                  .ok());
  auto token = fake_.requestToken("prod", "app", {"vault"}, std::chrono::seconds(3600));
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->expiration, clock_.now() + std::chrono::seconds(3600));
  EXPECT_FALSE(fake_.requestToken("prod", "app", {}, std::chrono::seconds(60)).ok());
}

}  // namespace
}  // namespace secretsync::test
