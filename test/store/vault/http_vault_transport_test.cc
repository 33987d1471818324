#include "pkg/store/vault/http_vault_transport.h"

#include <chrono>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/mocks/store/vault/fake_http_client.h"
#include "test/support/manual_clock.h"

namespace secretsync::store::vault {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::ScriptedHttpClient;
using ::testing::HasSubstr;

std::optional<std::string> headerOf(const common::http::HttpRequest& request,
                                    const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

class HttpVaultTransportTest : public ::testing::Test {
 protected:
  HttpVaultTransport make(HttpVaultTransportOptions options = {}) {
    if (options.address.empty()) {
      options.address = "https://vault:8200/";
    }
    // Middle of the jitter range: waits are 1250 ms, then 2 x 1250 ms.
    options.random = [] { return 0.5; };
    options.observer = [this](const VaultAttempt& attempt) {
      attempts_.push_back({std::string(attempt.method), std::string(attempt.path_template),
                           attempt.status, attempt.transport_error, attempt.attempt,
                           attempt.will_retry});
    };
    return HttpVaultTransport(http_, clock_, std::move(options));
  }

  static VaultCall get(std::string path) {
    VaultCall call;
    call.path = std::move(path);
    return call;
  }

  struct SeenAttempt {
    std::string method;
    std::string path_template;
    int status;
    absl::StatusCode transport_error;
    int attempt;
    bool will_retry;
  };

  ScriptedHttpClient http_;
  test::ManualClock clock_;
  std::vector<SeenAttempt> attempts_;
};

TEST_F(HttpVaultTransportTest, BuildsUrlAndHeaders) {
  HttpVaultTransport transport = make({.address = "https://vault:8200//",
                                       .vault_namespace = "team-a/",
                                       .request_timeout = milliseconds(5000)});
  http_.push(ScriptedHttpClient::response(200, R"({"data":{"a":1}})"));
  const common::SecretString token("hvs.secret-token");
  VaultCall call;
  call.method = "LIST";
  call.path = "secret/metadata/team a/ü";
  call.query = {{"list", "true"}, {"after", "a&b=c"}};
  call.token = &token;
  call.body = nlohmann::json{{"x", 1}};

  absl::StatusOr<VaultReply> reply = transport.call(call);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body["data"]["a"], 1);

  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& request = requests[0];
  EXPECT_EQ(request.method, "LIST");
  EXPECT_EQ(request.url,
            "https://vault:8200/v1/secret/metadata/team%20a/%C3%BC?list=true&after=a%26b%3Dc");
  EXPECT_EQ(request.timeout, milliseconds(5000));
  EXPECT_EQ(headerOf(request, "X-Vault-Token"), "hvs.secret-token");
  EXPECT_EQ(headerOf(request, "X-Vault-Namespace"), "team-a/");
  EXPECT_EQ(headerOf(request, "X-Vault-Request"), "true");
  EXPECT_EQ(headerOf(request, "Content-Type"), "application/json");
  EXPECT_EQ(request.body, R"({"x":1})");
}

TEST_F(HttpVaultTransportTest, OmitsOptionalHeaders) {
  HttpVaultTransport transport = make({.vault_namespace = "ns1"});
  http_.push(ScriptedHttpClient::response(200, R"({"initialized":true})"));
  VaultCall call = get("sys/health");
  call.send_namespace = false;
  ASSERT_TRUE(transport.call(call).ok());
  const auto request = http_.requests().at(0);
  EXPECT_EQ(request.url, "https://vault:8200/v1/sys/health");
  EXPECT_EQ(headerOf(request, "X-Vault-Token"), std::nullopt);
  EXPECT_EQ(headerOf(request, "X-Vault-Namespace"), std::nullopt);
  EXPECT_EQ(headerOf(request, "Content-Type"), std::nullopt);
  EXPECT_EQ(headerOf(request, "X-Vault-Request"), "true");
  EXPECT_TRUE(request.body.empty());
}

TEST_F(HttpVaultTransportTest, EmptyBodyIsNull) {
  HttpVaultTransport transport = make();
  http_.push(ScriptedHttpClient::response(204, ""));
  absl::StatusOr<VaultReply> reply = transport.call(get("sys/leases/revoke"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 204);
  EXPECT_TRUE(reply->body.is_null());
}

TEST_F(HttpVaultTransportTest, NonJsonSuccessBodyIsDataLossNamingPath) {
  HttpVaultTransport transport = make();
  http_.push(ScriptedHttpClient::response(200, "<html>hello</html>"));
  absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(reply.status().message(), HasSubstr("secret/data/db"));
  EXPECT_THAT(reply.status().message(), ::testing::Not(HasSubstr("hello")));
}

TEST_F(HttpVaultTransportTest, NonJsonErrorBodyKeepsStatus) {
  HttpVaultTransport transport = make({.max_retries = 0});
  http_.push(ScriptedHttpClient::response(502, "<html>Bad Gateway</html>"));
  absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 502);
  EXPECT_TRUE(reply->body.is_null());
}

TEST_F(HttpVaultTransportTest, SealedStormRiddenOutWithRetryAfter) {
  HttpVaultTransport transport = make();
  const std::vector<common::http::Header> retry_after = {{"retry-after", "2"}};
  http_.push(ScriptedHttpClient::response(503, R"({"errors":["Vault is sealed"]})", retry_after));
  http_.push(ScriptedHttpClient::response(503, R"({"errors":["Vault is sealed"]})", retry_after));
  http_.push(ScriptedHttpClient::response(200, R"({"data":{}})"));
  absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(http_.requests().size(), 3u);
  EXPECT_EQ(clock_.totalSlept(), seconds(4));
}

TEST_F(HttpVaultTransportTest, ReturnsLastReplyAfterLastRetryWithLinearJitter) {
  HttpVaultTransport transport = make();
  http_.push(ScriptedHttpClient::response(500, R"({"errors":["internal error"]})"));
  absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 500);
  EXPECT_EQ(reply->body["errors"][0], "internal error");
  EXPECT_EQ(http_.requests().size(), 3u);
  // (0 + 1) x 1250 ms + (1 + 1) x 1250 ms.
  EXPECT_EQ(clock_.totalSlept(), milliseconds(3750));
  ASSERT_EQ(attempts_.size(), 3u);
  EXPECT_TRUE(attempts_[0].will_retry);
  EXPECT_TRUE(attempts_[1].will_retry);
  EXPECT_FALSE(attempts_[2].will_retry);
  EXPECT_EQ(attempts_[2].attempt, 2);
  EXPECT_EQ(attempts_[0].status, 500);
  EXPECT_EQ(attempts_[0].path_template, "secret/*");
  EXPECT_EQ(attempts_[0].method, "GET");
}

TEST_F(HttpVaultTransportTest, RealJitterStaysInRange) {
  HttpVaultTransportOptions options;
  options.address = "http://vault:8200";
  HttpVaultTransport transport(http_, clock_, options);  // threadLocalUniform
  http_.push(ScriptedHttpClient::response(502, ""));
  ASSERT_TRUE(transport.call(get("secret/data/db")).ok());
  EXPECT_GE(clock_.totalSlept(), milliseconds(1000 + 2000));
  EXPECT_LE(clock_.totalSlept(), milliseconds(1500 + 3000));
}

TEST_F(HttpVaultTransportTest, RetriesExactlyThePolicyStatuses) {
  for (const int status : {412, 429, 500, 502, 503, 504, 599}) {
    ScriptedHttpClient http;
    http.push(ScriptedHttpClient::response(status, ""));
    HttpVaultTransport transport(http, clock_, {.address = "http://v", .max_retries = 2});
    ASSERT_TRUE(transport.call(get("secret/data/db")).ok());
    EXPECT_EQ(http.requests().size(), 3u) << status;
  }
  for (const int status : {200, 204, 307, 400, 401, 403, 404, 405, 409, 413, 415, 423, 501}) {
    ScriptedHttpClient http;
    http.push(ScriptedHttpClient::response(status, ""));
    HttpVaultTransport transport(http, clock_, {.address = "http://v", .max_retries = 2});
    absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->status, status);
    EXPECT_EQ(http.requests().size(), 1u) << status;
  }
}

TEST_F(HttpVaultTransportTest, RetryAfterIsCapped) {
  HttpVaultTransport transport = make({.retry_after_cap = seconds(30)});
  http_.push(ScriptedHttpClient::response(429, R"({"errors":["rate limit quota exceeded"]})",
                                          {{"retry-after", "86400"}}));
  absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 429);
  EXPECT_EQ(clock_.totalSlept(), seconds(60));
}

// With a cancel flag the waits are sliced, but without a stop they last as long as ever, and the
// flag reaches the HTTP client with each request.
TEST_F(HttpVaultTransportTest, CancelFlagLeavesRetriesAloneUntilSet) {
  std::atomic<bool> cancel{false};
  HttpVaultTransport transport = make({.cancel = &cancel});
  const std::vector<common::http::Header> retry_after = {{"retry-after", "2"}};
  http_.push(ScriptedHttpClient::response(503, R"({"errors":["Vault is sealed"]})", retry_after));
  http_.push(ScriptedHttpClient::response(200, R"({"data":{}})"));
  absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(clock_.totalSlept(), seconds(2));
  ASSERT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(http_.requests()[0].cancel, &cancel);
}

// A stop during a 503 storm: the Retry-After wait ends at once and no retry is sent.
TEST_F(HttpVaultTransportTest, CancelDuringARetryAfterWaitEndsTheCall) {
  std::atomic<bool> cancel{false};
  HttpVaultTransportOptions options{.cancel = &cancel};
  HttpVaultTransport transport = make(options);
  http_.push(ScriptedHttpClient::response(503, R"({"errors":["Vault is sealed"]})",
                                          {{"retry-after", "30"}}));
  cancel = true;  // as if stop() ran while the first attempt was in flight
  absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(clock_.totalSlept(), seconds(0));
}

TEST_F(HttpVaultTransportTest, RetryAfterHttpDate) {
  HttpVaultTransport transport = make({.max_retries = 1});
  // ManualClock's wall time is 1'800'000'000 s = Fri, 15 Jan 2027 08:00:00 GMT.
  http_.push(
      ScriptedHttpClient::response(503, "", {{"retry-after", "Fri, 15 Jan 2027 08:00:10 GMT"}}));
  http_.push(ScriptedHttpClient::response(200, "{}"));
  ASSERT_TRUE(transport.call(get("secret/data/db")).ok());
  EXPECT_EQ(clock_.totalSlept(), seconds(10));
}

TEST_F(HttpVaultTransportTest, RetryAfterIgnoredOnOtherStatusesAndWhenGarbage) {
  HttpVaultTransport transport = make({.max_retries = 1});
  http_.push(ScriptedHttpClient::response(500, "", {{"retry-after", "20"}}));
  http_.push(ScriptedHttpClient::response(429, "", {{"retry-after", "soon"}}));
  ASSERT_TRUE(transport.call(get("secret/data/db")).ok());
  EXPECT_EQ(clock_.totalSlept(), milliseconds(1250));
}

TEST_F(HttpVaultTransportTest, TransportErrors) {
  {
    HttpVaultTransport transport = make();
    http_.push(absl::UnavailableError("connection refused"));
    absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(http_.requests().size(), 3u);
    EXPECT_EQ(attempts_.back().transport_error, absl::StatusCode::kUnavailable);
    EXPECT_EQ(attempts_.back().status, 0);
  }
  for (const absl::Status& error :
       {absl::FailedPreconditionError("certificate verify failed"),
        absl::DeadlineExceededError("timed out"), absl::InvalidArgumentError("bad url")}) {
    ScriptedHttpClient http;
    http.push(error);
    HttpVaultTransport transport(http, clock_, {.address = "http://v"});
    absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
    EXPECT_EQ(reply.status().code(), error.code());
    EXPECT_EQ(http.requests().size(), 1u) << error;
  }
}

TEST_F(HttpVaultTransportTest, RecoversFromResetConnection) {
  HttpVaultTransport transport = make();
  http_.push(absl::UnavailableError("connection reset"));
  http_.push(ScriptedHttpClient::response(200, R"({"data":null})"));
  absl::StatusOr<VaultReply> reply = transport.call(get("secret/data/db"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(clock_.totalSlept(), milliseconds(1250));
}

TEST_F(HttpVaultTransportTest, NoRetriesWhenDisabled) {
  HttpVaultTransport transport = make({.max_retries = 0});
  http_.push(ScriptedHttpClient::response(503, ""));
  ASSERT_TRUE(transport.call(get("secret/data/db")).ok());
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(clock_.totalSlept(), milliseconds(0));
}

TEST_F(HttpVaultTransportTest, PathTemplateFromCall) {
  HttpVaultTransport transport = make();
  http_.push(ScriptedHttpClient::response(200, "{}"));
  VaultCall call = get("team/kv/data/app/db");
  call.path_template = "team/kv/data/*";
  ASSERT_TRUE(transport.call(call).ok());
  ASSERT_EQ(attempts_.size(), 1u);
  EXPECT_EQ(attempts_[0].path_template, "team/kv/data/*");
}

TEST_F(HttpVaultTransportTest, InvalidUtf8BodyIsRejectedWithoutValue) {
  HttpVaultTransport transport = make();
  VaultCall call = get("secret/data/db");
  call.method = "POST";
  call.body = nlohmann::json{{"data", {{"password", std::string("s3cr3t\xff")}}}};
  absl::StatusOr<VaultReply> reply = transport.call(call);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reply.status().message(), ::testing::Not(HasSubstr("s3cr3t")));
  EXPECT_TRUE(http_.requests().empty());
}

TEST(ParseReplyBodyTest, Cases) {
  EXPECT_TRUE(parseReplyBody("").value().is_null());
  EXPECT_TRUE(parseReplyBody(" \n").value().is_null());
  EXPECT_EQ(parseReplyBody(R"({"a":[1,2]})").value()["a"][1], 2);
  EXPECT_EQ(parseReplyBody("{").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(parseReplyBody("\xff").status().code(), absl::StatusCode::kDataLoss);
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  EXPECT_EQ(parseReplyBody(deep).status().code(), absl::StatusCode::kDataLoss);
  const std::string ok_depth = std::string(200, '[') + std::string(200, ']');
  EXPECT_TRUE(parseReplyBody(ok_depth).ok());
  // Brackets inside strings do not count.
  EXPECT_TRUE(parseReplyBody("\"" + std::string(1000, '[') + "\\\"\"").ok());
}

TEST(EscapeTest, VaultPathKeepsSlashesAndGosPathSubDelimiters) {
  EXPECT_EQ(escapeVaultPath("a/b c/d?e#f%"), "a/b%20c/d%3Fe%23f%25");
  EXPECT_EQ(escapeVaultPath("k8s:ns@x=1,y;z&$+"), "k8s:ns@x=1,y;z&$+");
}

TEST(RetryPolicyTest, Predicates) {
  EXPECT_TRUE(isRetryableVaultStatus(412));
  EXPECT_TRUE(isRetryableVaultStatus(429));
  EXPECT_TRUE(isRetryableVaultStatus(503));
  EXPECT_FALSE(isRetryableVaultStatus(501));
  EXPECT_FALSE(isRetryableVaultStatus(404));
  EXPECT_FALSE(isRetryableVaultStatus(0));
  EXPECT_TRUE(isRetryableTransportError(absl::UnavailableError("x")));
  EXPECT_FALSE(isRetryableTransportError(absl::FailedPreconditionError("tls")));
}

// Validate that one 307 within the configured origin is followed with method and body kept, and
// that a second redirect is returned rather than followed.
TEST_F(HttpVaultTransportTest, FollowsOneRedirectKeepingMethodAndBody) {
  HttpVaultTransport transport = make();
  http_.push(ScriptedHttpClient::response(
      307, "", {{"location", "https://VAULT:8200/v1/auth/kubernetes/login?active=1"}}));
  http_.push(ScriptedHttpClient::response(
      307, "", {{"location", "https://vault:8200/v1/auth/kubernetes/login"}}));
  VaultCall call = get("auth/kubernetes/login");
  call.method = "POST";
  call.body = nlohmann::json{{"role", "app"}};

  absl::StatusOr<VaultReply> reply = transport.call(call);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 307);
  const auto requests = http_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].url, "https://VAULT:8200/v1/auth/kubernetes/login?active=1");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].body, requests[0].body);
}

// Validate that a path-only Location resolves against the server, and that https never redirects
// to http.
TEST_F(HttpVaultTransportTest, RedirectTargetsAreChecked) {
  HttpVaultTransport transport = make();
  http_.push(ScriptedHttpClient::response(307, "", {{"location", "/v1/secret/data/x"}}));
  http_.push(ScriptedHttpClient::response(200, R"({"data":{}})"));
  ASSERT_TRUE(transport.call(get("secret/data/x")).ok());
  EXPECT_EQ(http_.requests().back().url, "https://vault:8200/v1/secret/data/x");

  ScriptedHttpClient downgrade_http;
  HttpVaultTransport downgrade(downgrade_http, clock_, {.address = "https://vault:8200"});
  downgrade_http.push(
      ScriptedHttpClient::response(307, "", {{"location", "http://evil:8200/v1/secret/data/x"}}));
  const auto refused = downgrade.call(get("secret/data/x"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("https"));
  EXPECT_EQ(downgrade_http.requests().size(), 1u);

  // Another host or port would receive the token: refused, whatever the scheme.
  for (const char* location : {"https://active:8200/v1/secret/data/x",
                               "https://vault:8201/v1/secret/data/x", "https://vault:8200@evil/"}) {
    ScriptedHttpClient cross_http;
    HttpVaultTransport cross(cross_http, clock_, {.address = "https://vault:8200"});
    cross_http.push(ScriptedHttpClient::response(307, "", {{"location", location}}));
    const auto cross_refused = cross.call(get("secret/data/x"));
    EXPECT_EQ(cross_refused.status().code(), absl::StatusCode::kFailedPrecondition) << location;
    EXPECT_THAT(cross_refused.status().message(), HasSubstr("another host"));
    EXPECT_EQ(cross_http.requests().size(), 1u);
  }
}

}  // namespace
}  // namespace secretsync::store::vault
