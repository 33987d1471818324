#include "pkg/kube/rest_kube_client.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/kube/api_error.h"
#include "test/kube/kube_test_env.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/kube_faults.h"
#include "test/support/manual_clock.h"
#include "test/support/test_pki.h"

namespace secretsync::kube {
namespace {

using common::http::HttpRequest;
using common::http::HttpResponse;
using nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const common::http::CurlGlobal kCurlGlobal;

using kubetest::kTestNamespace;
using kubetest::kTestToken;
constexpr const char* kNs = kTestNamespace;
constexpr const char* kToken = kTestToken;
constexpr char kSecretValue[] = "hunter2-very-secret";

// Passes requests to a real libcurl client and remembers them, so tests see what went on the
// wire (headers, queries) while the double answers.
class RecordingHttpClient final : public common::http::HttpClient {
 public:
  explicit RecordingHttpClient(common::http::HttpClientPtr inner) : inner_(std::move(inner)) {}
  absl::StatusOr<HttpResponse> send(const HttpRequest& request) override {
    record(request);
    return inner_->send(request);
  }
  absl::StatusOr<HttpResponse> sendStreaming(const HttpRequest& request,
                                             const BodyChunkHandler& on_body,
                                             const std::atomic<bool>* stop) override {
    record(request);
    return inner_->sendStreaming(request, on_body, stop);
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  HttpRequest last() const {
    std::lock_guard lock(mu_);
    return requests_.back();
  }

 private:
  void record(const HttpRequest& request) {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
  }
  common::http::HttpClientPtr inner_;
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
};

std::string header(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "";
}

json secret(const std::string& name, json data = {{"k", "dmFsdWU="}}, json labels = nullptr) {
  json s = {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", name}, {"namespace", kNs}}},
            {"data", std::move(data)}};
  if (!labels.is_null()) s["metadata"]["labels"] = std::move(labels);
  return s;
}

json externalSecret(const std::string& name) {
  return {{"apiVersion", "external-secrets.io/v1"},
          {"kind", "ExternalSecret"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec", {{"refreshInterval", "1h"}}}};
}

class RestKubeClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kube_ = kubetest::startHttpsKubeDouble(std::chrono::milliseconds(100));
    ASSERT_NE(kube_, nullptr);
    config_ = kubetest::configFor(*kube_);
    client_ = makeClient(config_);
  }

  std::unique_ptr<RestKubeClient> makeClient(const KubeConfig& config) {
    common::http::CurlHttpClientOptions http_options;
    http_options.tls = config.tls;
    auto curl = common::http::newCurlHttpClient(http_options);
    EXPECT_TRUE(curl.ok()) << curl.status();
    http_ = std::make_unique<RecordingHttpClient>(*std::move(curl));
    RestKubeClientOptions options;
    options.user_agent = "secretsync/1.2.3";
    options.clock = &clock_;
    options.random = [] { return 0.5; };
    options.observer = [this](const KubeRequestInfo& info) {
      std::lock_guard lock(mu_);
      attempts_.push_back(
          absl::StrCat(common::av(info.verb), " ", common::av(info.resource), " ", info.code));
    };
    auto client = RestKubeClient::create(config, http_.get(), options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::vector<std::string> attempts() {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  void clearAttempts() {
    std::lock_guard lock(mu_);
    attempts_.clear();
  }

  test::ManualClock clock_;
  std::unique_ptr<test::KubeDouble> kube_;
  KubeConfig config_;
  std::unique_ptr<RecordingHttpClient> http_;
  std::unique_ptr<RestKubeClient> client_;
  std::mutex mu_;
  std::vector<std::string> attempts_;
};

// A get returns the object; a missing one is NotFound naming the request; the wire carries JSON
// Accept, our User-Agent and the bearer token.
TEST_F(RestKubeClientTest, GetAndNotFound) {
  ASSERT_TRUE(kube_->putObject(secret("db")).ok());
  auto got = client_->get(resources::secrets(), kNs, "db");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["data"]["k"], "dmFsdWU=");
  const HttpRequest sent = http_->last();
  EXPECT_EQ(sent.url, kube_->baseUrl() + "/api/v1/namespaces/app/secrets/db");
  EXPECT_EQ(header(sent, "Accept"), "application/json");
  EXPECT_EQ(header(sent, "User-Agent"), "secretsync/1.2.3");
  EXPECT_EQ(header(sent, "Authorization"), absl::StrCat("Bearer ", kToken));

  auto missing = client_->get(resources::secrets(), kNs, "nope");
  EXPECT_TRUE(isNotFound(missing.status())) << missing.status();
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("get secrets app/nope: secrets \"nope\" not found"));
  // Names that would change the path are refused before anything is sent.
  EXPECT_EQ(client_->get(resources::secrets(), kNs, "../x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->get(resources::secrets(), "", "db").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Lists page with limit/continue, listAll gathers every page, and selectors are URL-escaped.
TEST_F(RestKubeClientTest, ListPaginationAndSelectors) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(kube_
                    ->putObject(secret(absl::StrCat("s", i), {{"k", "dmFsdWU="}},
                                       {{"team", i % 2 == 0 ? "a" : "b"}}))
                    .ok());
  }
  ListOptions options;
  options.limit = 3;
  auto page = client_->list(resources::secrets(), kNs, options);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->items.size(), 3u);
  EXPECT_FALSE(page->continue_token.empty());
  EXPECT_FALSE(page->resource_version.empty());

  auto all = listAll(*client_, resources::secrets(), kNs, options);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->items.size(), 7u);

  options = {};
  options.label_selector = "team in (a,x)";
  options.field_selector = "metadata.name!=s0";
  auto selected = client_->list(resources::secrets(), kNs, options);
  ASSERT_TRUE(selected.ok()) << selected.status();
  std::vector<std::string> names;
  for (const auto& item : selected->items) names.push_back(item["metadata"]["name"]);
  EXPECT_THAT(names, ElementsAre("s2", "s4", "s6"));
  EXPECT_THAT(
      http_->last().url,
      HasSubstr("?labelSelector=team%20in%20%28a%2Cx%29&fieldSelector=metadata.name%21%3Ds0"));

  // All namespaces.
  auto everywhere = client_->list(resources::secrets(), "", {});
  ASSERT_TRUE(everywhere.ok()) << everywhere.status();
  EXPECT_EQ(everywhere->items.size(), 7u);
  EXPECT_EQ(http_->last().url, kube_->baseUrl() + "/api/v1/secrets");
}

// create, then an update with a stale resourceVersion is a Conflict, with the current one works.
TEST_F(RestKubeClientTest, CreateAndUpdateConflict) {
  auto created = client_->create(resources::secrets(), kNs, secret("db"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(http_->last().url, HasSubstr("fieldManager=secretsync"));
  auto again = client_->create(resources::secrets(), kNs, secret("db"));
  EXPECT_TRUE(isAlreadyExists(again.status())) << again.status();

  json stale = *created;
  json fresh = *created;
  fresh["data"]["k"] = "bmV3";
  auto updated = client_->update(resources::secrets(), kNs, fresh);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ((*updated)["data"]["k"], "bmV3");

  stale["data"]["k"] = "b2xk";
  auto conflict = client_->update(resources::secrets(), kNs, stale);
  EXPECT_TRUE(isConflict(conflict.status())) << conflict.status();
  EXPECT_THAT(std::string(conflict.status().message()), HasSubstr("update secrets app/db"));
}

// Merge patch removes a key with null; JSON patch tests and replaces; strategic merge on a custom
// resource is refused by the server (415).
TEST_F(RestKubeClientTest, Patches) {
  ASSERT_TRUE(kube_->putObject(secret("db", {{"a", "YQ=="}, {"b", "Yg=="}})).ok());
  auto merged = client_->patch(resources::secrets(), kNs, "db", PatchType::kMerge,
                               {{"data", {{"a", nullptr}, {"c", "Yw=="}}}});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ((*merged)["data"], json({{"b", "Yg=="}, {"c", "Yw=="}}));
  EXPECT_EQ(header(http_->last(), "Content-Type"), "application/merge-patch+json");

  const std::string rv = (*merged)["metadata"]["resourceVersion"];
  auto jsonpatch = client_->patch(
      resources::secrets(), kNs, "db", PatchType::kJson,
      json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", rv}},
                   {{"op", "replace"}, {"path", "/data/b"}, {"value", "Qg=="}}}));
  ASSERT_TRUE(jsonpatch.ok()) << jsonpatch.status();
  EXPECT_EQ((*jsonpatch)["data"]["b"], "Qg==");
  EXPECT_EQ(header(http_->last(), "Content-Type"), "application/json-patch+json");

  auto strategic = client_->patch(resources::secrets(), kNs, "db", PatchType::kStrategicMerge,
                                  {{"metadata", {{"labels", {{"x", "y"}}}}}});
  ASSERT_TRUE(strategic.ok()) << strategic.status();
  EXPECT_EQ(header(http_->last(), "Content-Type"), "application/strategic-merge-patch+json");

  ASSERT_TRUE(kube_->putObject(externalSecret("es")).ok());
  auto refused = client_->patch(resources::externalSecrets(), kNs, "es", PatchType::kStrategicMerge,
                                {{"spec", {{"x", 1}}}});
  EXPECT_EQ(apiErrorInfo(refused.status())->http_status, 415) << refused.status();

  WriteOptions force;
  force.force = true;
  EXPECT_EQ(
      client_->patch(resources::secrets(), kNs, "db", PatchType::kMerge, json::object(), force)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

// Server-side apply records our field manager; another manager's different value conflicts
// until it forces.
TEST_F(RestKubeClientTest, ServerSideApplyAndConflict) {
  auto applied = client_->apply(resources::secrets(), kNs, secret("db", {{"k", "MQ=="}}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(header(http_->last(), "Content-Type"), "application/apply-patch+yaml");
  ASSERT_FALSE(kube_->writeLog().empty());
  EXPECT_EQ(kube_->writeLog().back().verb, "apply");
  EXPECT_EQ(kube_->writeLog().back().field_manager, "secretsync");

  WriteOptions other;
  other.field_manager = "other-manager";
  auto conflict = client_->apply(resources::secrets(), kNs, secret("db", {{"k", "Mg=="}}), other);
  EXPECT_TRUE(isConflict(conflict.status())) << conflict.status();
  EXPECT_THAT(std::string(conflict.status().message()),
              AllOf(HasSubstr("apply secrets app/db"), HasSubstr(".data.k")));

  other.force = true;
  auto forced = client_->apply(resources::secrets(), kNs, secret("db", {{"k", "Mg=="}}), other);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ((*forced)["data"]["k"], "Mg==");
  EXPECT_THAT(http_->last().url,
              AllOf(HasSubstr("fieldManager=other-manager"), HasSubstr("force=true")));
}

// The status subresource takes status only; the main resource ignores status.
TEST_F(RestKubeClientTest, StatusSubresource) {
  auto created = client_->create(resources::externalSecrets(), kNs, externalSecret("es"));
  ASSERT_TRUE(created.ok()) << created.status();
  json with_status = *created;
  with_status["status"] = {{"refreshTime", "2026-01-01T00:00:00Z"}};
  with_status["spec"]["refreshInterval"] = "5m";  // ignored by /status
  WriteOptions status_write;
  status_write.subresource = "status";
  auto updated = client_->update(resources::externalSecrets(), kNs, with_status, status_write);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT(http_->last().url, HasSubstr("/externalsecrets/es/status?"));
  auto got = client_->get(resources::externalSecrets(), kNs, "es");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["status"]["refreshTime"], "2026-01-01T00:00:00Z");
  EXPECT_EQ((*got)["spec"]["refreshInterval"], "1h");

  auto applied = client_->apply(
      resources::externalSecrets(), kNs,
      {{"apiVersion", "external-secrets.io/v1"},
       {"kind", "ExternalSecret"},
       {"metadata", {{"name", "es"}}},
       {"status", {{"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}},
      status_write);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ((*applied)["status"]["conditions"][0]["type"], "Ready");
  EXPECT_EQ(kube_->writeLog().back().resource, "externalsecrets/status");
}

// A delete with a wrong uid precondition is a Conflict; with the right one it deletes.
TEST_F(RestKubeClientTest, DeleteWithPreconditions) {
  auto stored = kube_->putObject(secret("db"));
  ASSERT_TRUE(stored.ok());
  DeleteOptions wrong;
  wrong.uid = "not-the-uid";
  wrong.propagation_policy = "Background";
  auto status = client_->remove(resources::secrets(), kNs, "db", wrong);
  EXPECT_TRUE(isConflict(status)) << status;
  EXPECT_THAT(http_->last().body, AllOf(HasSubstr("\"propagationPolicy\":\"Background\""),
                                        HasSubstr("\"uid\":\"not-the-uid\"")));

  DeleteOptions right;
  right.uid = (*stored)["metadata"]["uid"];
  right.resource_version = (*stored)["metadata"]["resourceVersion"];
  ASSERT_TRUE(client_->remove(resources::secrets(), kNs, "db", right).ok());
  EXPECT_TRUE(isNotFound(client_->get(resources::secrets(), kNs, "db").status()));
  EXPECT_TRUE(isNotFound(client_->remove(resources::secrets(), kNs, "db")));
  EXPECT_EQ(http_->last().body, "");  // no options, no body
}

// A group that is not installed answers a plain-text 404: still NotFound, with client-go's text.
TEST_F(RestKubeClientTest, UnknownGroupIsPlainTextNotFound) {
  const Resource things{"example.io", "v1", "things", "Thing", true};
  auto got = client_->get(things, kNs, "x");
  EXPECT_TRUE(isNotFound(got.status())) << got.status();
  EXPECT_THAT(std::string(got.status().message()),
              AllOf(HasSubstr("get things.example.io app/x"),
                    HasSubstr("the server could not find the requested resource")));
  auto listed = client_->list(things, kNs, {});
  EXPECT_TRUE(isNotFound(listed.status()));
}

// A plain-text 429 with Retry-After is retried after the server's delay, for reads and writes;
// the observer sees every attempt.
TEST_F(RestKubeClientTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  ASSERT_TRUE(kube_->putObject(secret("db")).ok());
  auto rule = test::kube::tooManyRequestsFault(3, /*times=*/2);
  rule.path_prefix = "/api/v1/namespaces/app/secrets";
  const uint64_t id = kube_->addFault(rule);
  auto got = client_->get(resources::secrets(), kNs, "db");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(kube_->faultHits(id), 2u);
  EXPECT_THAT(attempts(), ElementsAre("get secrets 429", "get secrets 429", "get secrets 200"));
  // 3 s each, plus the 10 % jitter at random() = 0.5.
  EXPECT_EQ(clock_.totalSlept(), std::chrono::milliseconds(2 * 3150));

  // A create is retried on 429 too: the server did not run it.
  clearAttempts();
  kube_->addFault(rule);
  ASSERT_TRUE(client_->create(resources::secrets(), kNs, secret("other")).ok());
  EXPECT_EQ(attempts().size(), 3u);

  // A Retry-After beyond the cap waits the cap (plus its 10 % jitter).
  clearAttempts();
  const auto slept = clock_.totalSlept();
  auto long_wait = test::kube::tooManyRequestsFault(3600, 1);
  long_wait.path_prefix = "/api/v1/namespaces/app/secrets";
  kube_->addFault(long_wait);
  ASSERT_TRUE(client_->get(resources::secrets(), kNs, "db").ok());
  EXPECT_EQ(clock_.totalSlept() - slept, std::chrono::milliseconds(10'500));
}

// 5xx: reads are retried, a create is not (it may have happened); attempts are bounded.
TEST_F(RestKubeClientTest, ServerErrorsRetriedOnlyWhenSafe) {
  ASSERT_TRUE(kube_->putObject(secret("db")).ok());
  auto unavailable = test::kube::statusFault(503, "ServiceUnavailable", "try later", std::nullopt);
  unavailable.path_prefix = "/api/v1/namespaces/app/secrets";
  const uint64_t id = kube_->addFault(unavailable);
  auto got = client_->get(resources::secrets(), kNs, "db");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(kube_->faultHits(id), 6u);  // 1 + max_retries

  clearAttempts();
  auto created = client_->create(resources::secrets(), kNs, secret("new"));
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(attempts(), ElementsAre("create secrets 503"));

  // An update carrying a resourceVersion is safe to send again.
  clearAttempts();
  json with_rv = secret("db");
  with_rv["metadata"]["resourceVersion"] = "1";
  EXPECT_FALSE(client_->update(resources::secrets(), kNs, with_rv).ok());
  EXPECT_EQ(attempts().size(), 6u);
}

// TokenRequest returns the minted token and its expiry; the token is one the server accepts.
TEST_F(RestKubeClientTest, TokenRequest) {
  const auto before = std::chrono::system_clock::now();
  auto token = client_->requestToken(kNs, "default", {"vault"}, std::chrono::seconds(600));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_FALSE(token->token.empty());
  EXPECT_GE(token->expiration, before + std::chrono::seconds(590));
  EXPECT_LE(token->expiration, std::chrono::system_clock::now() + std::chrono::seconds(610));
  auto review = kube_->reviewToken(token->token, {"vault"});
  ASSERT_TRUE(review.ok()) << review.status();
  EXPECT_THAT(http_->last().body, AllOf(HasSubstr("\"audiences\":[\"vault\"]"),
                                        HasSubstr("\"expirationSeconds\":600")));

  auto missing = client_->requestToken(kNs, "ghost", {}, std::chrono::seconds(600));
  EXPECT_TRUE(isNotFound(missing.status())) << missing.status();
  auto too_short = client_->requestToken(kNs, "default", {}, std::chrono::seconds(60));
  EXPECT_EQ(too_short.status().code(), absl::StatusCode::kInvalidArgument);
}

// Neither the server's message nor ours carries a Secret's value, even when a webhook echoes it.
TEST_F(RestKubeClientTest, SecretValuesNeverInErrors) {
  auto invalid = client_->create(resources::secrets(), kNs,
                                 secret("bad", {{"k", std::string(kSecretValue) + "!"}}));
  ASSERT_FALSE(invalid.ok());
  EXPECT_THAT(std::string(invalid.status().message()), Not(HasSubstr(kSecretValue)));

  auto echo = test::kube::statusFault(
      400, "BadRequest",
      absl::StrCat("admission webhook \"policy\" denied the request: value ", kSecretValue,
                   " is weak"));
  echo.path_prefix = "/api/v1/namespaces/app/secrets";
  kube_->addFault(echo);
  const json data = {{"password", kSecretValue}};  // stringData: the plain value
  json with_string_data = secret("db");
  with_string_data["stringData"] = data;
  auto denied = client_->create(resources::secrets(), kNs, with_string_data);
  ASSERT_FALSE(denied.ok());
  const std::string message(denied.status().message());
  EXPECT_THAT(message, AllOf(HasSubstr("admission webhook"), HasSubstr("[redacted]"),
                             Not(HasSubstr(kSecretValue))));
  EXPECT_EQ(apiErrorInfo(denied.status())->http_status, 400);

  // Base64 data is matched decoded too, also in a patch.
  auto patched = client_->patch(resources::secrets(), kNs, "db", PatchType::kMerge,
                                {{"data", {{"password", "aHVudGVyMi12ZXJ5LXNlY3JldA=="}}}});
  ASSERT_FALSE(patched.ok());
  EXPECT_THAT(std::string(patched.status().message()), Not(HasSubstr(kSecretValue)));
}

// A rotated token file is read again after a 401 at once, and after the re-read interval.
TEST_F(RestKubeClientTest, TokenFileRotation) {
  std::string dir = (std::filesystem::temp_directory_path() / "kubetok-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string file = dir + "/token";
  ASSERT_TRUE(test::writePrivateFile(file, "token-one\n").ok());
  kube_->addToken("token-one", "user-one");
  KubeConfig config = config_;
  config.token = {};
  config.token_file = file;
  auto client = makeClient(config);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->create(resources::secrets(), kNs, secret("a")).ok());
  EXPECT_EQ(kube_->writeLog().back().user, "user-one");

  // The kubelet rotates the file and the old token stops working: the 401 triggers a re-read.
  ASSERT_TRUE(test::writePrivateFile(file, "token-two").ok());
  kube_->addToken("token-two", "user-two");
  kube_->removeToken("token-one");
  // A watch re-reads it too (stopping at its first event).
  clearAttempts();
  const absl::Status watched =
      client->watch(resources::secrets(), kNs, {}, [](const WatchEvent&) { return false; });
  EXPECT_TRUE(watched.ok()) << watched;
  EXPECT_THAT(attempts(), ElementsAre("watch secrets 401", "watch secrets 200"));
  ASSERT_TRUE(test::writePrivateFile(file, "token-one").ok());
  kube_->addToken("token-one", "user-one");
  clock_.advance(std::chrono::seconds(61));
  ASSERT_TRUE(client->get(resources::secrets(), kNs, "a").ok());  // back on token-one
  ASSERT_TRUE(test::writePrivateFile(file, "token-two").ok());
  kube_->removeToken("token-one");
  ASSERT_TRUE(client->create(resources::secrets(), kNs, secret("b")).ok());
  EXPECT_EQ(kube_->writeLog().back().user, "user-two");

  // Both still valid: the new file is picked up once the interval has passed, not before.
  ASSERT_TRUE(test::writePrivateFile(file, "token-three-longer").ok());
  kube_->addToken("token-three-longer", "user-three");
  ASSERT_TRUE(client->create(resources::secrets(), kNs, secret("c")).ok());
  EXPECT_EQ(kube_->writeLog().back().user, "user-two");
  clock_.advance(std::chrono::seconds(61));
  ASSERT_TRUE(client->create(resources::secrets(), kNs, secret("d")).ok());
  EXPECT_EQ(kube_->writeLog().back().user, "user-three");

  // A client cannot be made from a token file that is not there.
  config.token_file = dir + "/absent";
  RestKubeClientOptions options;
  auto broken = RestKubeClient::create(config, http_.get(), options);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

// The client makes its own HTTPS client from the config; a wrong CA fails the handshake.
TEST_F(RestKubeClientTest, OwnHttpClientVerifiesTheServer) {
  auto own = RestKubeClient::create(config_, nullptr);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE((*own)->list(resources::secrets(), kNs, {}).ok());

  KubeConfig wrong = config_;
  wrong.tls.ca_pem = kubetest::testPki().other_ca.cert_pem;
  auto untrusting = RestKubeClient::create(wrong, nullptr);
  ASSERT_TRUE(untrusting.ok());
  EXPECT_EQ((*untrusting)->list(resources::secrets(), kNs, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(RestKubeClient::create(KubeConfig{}, nullptr).ok());
}

// A watch streams ADDED and BOOKMARK events and ends promptly when told to stop.
TEST_F(RestKubeClientTest, WatchEventsBookmarksAndStop) {
  auto listed = client_->list(resources::secrets(), kNs, {});
  ASSERT_TRUE(listed.ok());
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<WatchEvent> events;
  absl::Status result;
  WatchOptions options;
  options.resource_version = listed->resource_version;
  options.timeout = std::chrono::seconds(60);
  options.stop = &stop;
  std::thread watcher([&] {
    result = client_->watch(resources::secrets(), kNs, options, [&](const WatchEvent& event) {
      std::lock_guard lock(mu);
      events.push_back(event);
      return true;
    });
  });
  const auto wait_for = [&](auto predicate) {
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard lock(mu);
        if (predicate()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(wait_for([&] { return kube_->openWatches() == 1; }));
  ASSERT_TRUE(kube_->putObject(secret("new")).ok());
  EXPECT_TRUE(wait_for([&] {
    bool added = false, bookmark = false;
    for (const auto& e : events) {
      added =
          added || (e.type == WatchEvent::Type::kAdded && e.object["metadata"]["name"] == "new");
      bookmark = bookmark || e.type == WatchEvent::Type::kBookmark;
    }
    return added && bookmark;
  }));
  const auto stopped_at = std::chrono::steady_clock::now();
  stop.store(true);
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(2));
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_THAT(http_->last().url,
              AllOf(HasSubstr("watch=true"), HasSubstr("allowWatchBookmarks=true"),
                    HasSubstr("timeoutSeconds=60"),
                    HasSubstr("resourceVersion=" + listed->resource_version)));
}

// 410 comes in-stream (after the handler saw the ERROR) or as an HTTP status: both are isGone.
TEST_F(RestKubeClientTest, WatchGoneBothWays) {
  kube_->forceGoneOnNextWatch();
  std::vector<WatchEvent::Type> seen;
  WatchOptions options;
  options.resource_version = "1";
  auto status = client_->watch(resources::secrets(), kNs, options, [&](const WatchEvent& e) {
    seen.push_back(e.type);
    return true;
  });
  EXPECT_TRUE(isGone(status)) << status;
  EXPECT_THAT(seen, ElementsAre(WatchEvent::Type::kError));
  EXPECT_THAT(std::string(status.message()), HasSubstr("watch secrets app"));

  auto gone = test::kube::statusFault(410, "Expired", "too old resource version: 1 (5)");
  gone.path_prefix = "/api/v1/namespaces/app/secrets";
  gone.times = 1;
  kube_->addFault(gone);
  status =
      client_->watch(resources::secrets(), kNs, options, [](const WatchEvent&) { return true; });
  EXPECT_TRUE(isGone(status)) << status;

  // Another in-stream error keeps its code; a forbidden watch is PermissionDenied.
  auto forbidden = test::kube::statusFault(403, "Forbidden", "secrets is forbidden");
  forbidden.path_prefix = "/api/v1/namespaces/app/secrets";
  forbidden.times = 1;
  kube_->addFault(forbidden);
  status =
      client_->watch(resources::secrets(), kNs, options, [](const WatchEvent&) { return true; });
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
}

}  // namespace
}  // namespace secretsync::kube
