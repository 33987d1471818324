// Hostile API-server replies and watch streams, one table row each: the real RestKubeClient
// (libcurl, retries, error mapping, redaction) against a raw test HTTP server that answers what
// the row says, the Kubernetes API double where the real server's rule matters (a Secret over
// 1 MiB), and the watch decoder fed hostile frames. Every row checks that the error names the
// request or the frame and the problem, that no token or Secret value is in it or in the debug
// log, and that the same client (or the events before the bad frame) is unharmed.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/kube/rest_kube_client.h"
#include "pkg/kube/watch_decoder.h"
#include "test/hostile/hostile_table.h"
#include "test/support/http_server.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/manual_clock.h"

namespace secretsync::hostile {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const common::http::CurlGlobal kCurlGlobal;

constexpr char kToken[] = "SENTINEL-KUBE-TOKEN-19ab";
constexpr char kValue[] = "SENTINEL-KUBE-VALUE-77";
constexpr char kNs[] = "app";

json secretObject(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"data", {{"password", absl::Base64Escape(value)}}}};
}

json statusObject(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},   {"apiVersion", "v1"}, {"status", "Failure"},
          {"message", message}, {"reason", reason},   {"code", code}};
}

class KubeHostileTest;

// One hostile exchange: `act` sets the server's reply (or its own peer) and makes the call.
struct KubeRow {
  std::string name;
  std::function<absl::Status(KubeHostileTest&)> act;
  Expected expected;
  size_t max_message_bytes = 2048;
};
// ctest names each case by its row; the row prints as its name only.
void PrintTo(const KubeRow& row, std::ostream* os) { *os << row.name; }

class KubeHostileTest : public ::testing::TestWithParam<KubeRow> {
 public:
  void SetUp() override {
    auto server = test::HttpServer::start({}, [this](const test::HttpServerRequest& request) {
      // The good object is always served, whatever the row plants for the others.
      if (request.path == "/api/v1/namespaces/app/secrets/good") {
        test::HttpServerResponse response;
        response.headers.emplace_back("Content-Type", "application/json");
        response.body = secretObject("good", "SENTINEL-GOOD").dump();
        return response;
      }
      std::lock_guard lock(mu_);
      return reply_(request);
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = makeClient(server_->baseUrl());
  }

  // No retries unless asked; a generous timeout (the large rows take seconds under sanitizers on
  // a loaded machine) but for the slow-peer rows, which pass a second.
  std::unique_ptr<kube::RestKubeClient> makeClient(const std::string& server, int retries = 0,
                                                   milliseconds timeout = milliseconds(30'000)) {
    kube::KubeConfig config;
    config.server = server;
    config.token = common::SecretString(kToken);
    kube::RestKubeClientOptions options;
    options.request_timeout = timeout;
    options.max_retries = retries;
    options.clock = &clock_;
    options.random = [] { return 0.5; };
    auto client = kube::RestKubeClient::create(std::move(config), nullptr, options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Every request but the good one gets `status` with `body`.
  void answer(int status, std::string body,
              std::vector<std::pair<std::string, std::string>> headers = {
                  {"Content-Type", "application/json"}}) {
    std::lock_guard lock(mu_);
    reply_ = [status, body = std::move(body), headers](const test::HttpServerRequest&) {
      test::HttpServerResponse response;
      response.status = status;
      response.headers = headers;
      response.body = body;
      return response;
    };
  }
  void answerWith(std::function<test::HttpServerResponse(const test::HttpServerRequest&)> reply) {
    std::lock_guard lock(mu_);
    reply_ = std::move(reply);
  }

  absl::Status getHostile() {
    return client_->get(kube::resources::secrets(), kNs, "hostile").status();
  }
  absl::Status createSecret() {
    return client_->create(kube::resources::secrets(), kNs, secretObject("hostile", kValue))
        .status();
  }

  test::ManualClock clock_;
  std::mutex mu_;
  std::function<test::HttpServerResponse(const test::HttpServerRequest&)> reply_ =
      [](const test::HttpServerRequest&) { return test::HttpServerResponse{.status = 404}; };
  std::unique_ptr<test::HttpServer> server_;
  std::unique_ptr<kube::RestKubeClient> client_;
};

std::vector<KubeRow> rows() {
  using absl::StatusCode;
  std::vector<KubeRow> r;
  r.push_back(
      {"status_quotes_the_secret_value",
       [](KubeHostileTest& t) {
         t.answer(422, statusObject(422, "Invalid",
                                    absl::StrCat("Secret \"hostile\" is invalid: "
                                                 "data[password]: Invalid value: \"",
                                                 absl::Base64Escape(kValue), "\" (", kValue, ")"))
                           .dump());
         return t.createSecret();
       },
       {StatusCode::kInvalidArgument, {"create secrets app/hostile", "[redacted]"}}});
  r.push_back({"status_quotes_the_bearer_token",
               [](KubeHostileTest& t) {
                 t.answer(401, statusObject(401, "Unauthorized",
                                            absl::StrCat("token \"", kToken, "\" is not valid"))
                                   .dump());
                 return t.getHostile();
               },
               {StatusCode::kUnauthenticated, {"get secrets app/hostile", "[redacted]"}}});
  r.push_back({"status_message_of_1_mib",
               [](KubeHostileTest& t) {
                 t.answer(500,
                          statusObject(500, "InternalError", std::string(1 << 20, 'm')).dump());
                 return t.getHostile();
               },
               {StatusCode::kInternal, {"get secrets app/hostile", "mmm..."}}});
  r.push_back(
      {"status_message_with_control_characters",
       [](KubeHostileTest& t) {
         t.answer(
             403,
             statusObject(403, "Forbidden", "no\nE1122 12:00:00 forged log line\r\x1b[2J").dump());
         return t.getHostile();
       },
       {StatusCode::kPermissionDenied, {"get secrets app/hostile", "forged log line"}}});
  r.push_back({"html_instead_of_json",
               [](KubeHostileTest& t) {
                 t.answer(200, "<html>SENTINEL-HTML</html>", {{"Content-Type", "text/html"}});
                 return t.getHostile();
               },
               {StatusCode::kDataLoss, {"get secrets app/hostile"}}});
  r.push_back({"truncated_json",
               [](KubeHostileTest& t) {
                 const std::string whole = secretObject("hostile", kValue).dump();
                 t.answer(200, whole.substr(0, whole.size() - 5));
                 return t.getHostile();
               },
               {StatusCode::kDataLoss, {"get secrets app/hostile"}}});
  r.push_back({"json_nested_100k_levels",
               [](KubeHostileTest& t) {
                 t.answer(200, "{\"kind\":\"Secret\",\"data\":" + std::string(100'000, '[') +
                                   std::string(100'000, ']') + "}");
                 return t.getHostile();
               },
               {StatusCode::kDataLoss, {"get secrets app/hostile", "nests deeper than 512"}}});
  r.push_back({"invalid_utf8_in_reply",
               [](KubeHostileTest& t) {
                 t.answer(200, "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"ho\xff\xfestile\"}}");
                 return t.getHostile();
               },
               {StatusCode::kDataLoss, {"get secrets app/hostile"}}});
  r.push_back({"reply_is_an_array",
               [](KubeHostileTest& t) {
                 t.answer(200, R"(["SENTINEL-ARRAY"])");
                 return t.getHostile();
               },
               {StatusCode::kDataLoss, {"get secrets app/hostile"}}});
  r.push_back({"list_items_not_a_list",
               [](KubeHostileTest& t) {
                 t.answer(200, R"({"kind":"SecretList","metadata":{},"items":{"a":"SENTINEL-L"}})");
                 return t.client_->list(kube::resources::secrets(), kNs, {}).status();
               },
               {StatusCode::kDataLoss, {"list secrets", "items"}}});
  r.push_back({"reply_of_40_mib",
               [](KubeHostileTest& t) {
                 // Built by hand: dumping 40 MiB through nlohmann::json costs seconds.
                 t.answer(200, R"({"kind":"Secret","metadata":{"name":"hostile"},"data":{"k":")" +
                                   std::string(40u << 20, 'v') + R"("}})");
                 return t.getHostile();
               },
               {StatusCode::kResourceExhausted, {"get secrets app/hostile", "larger than"}}});
  r.push_back({"retry_after_beyond_int64",
               [](KubeHostileTest& t) {
                 t.answer(429, statusObject(429, "TooManyRequests", "slow down").dump(),
                          {{"Retry-After", "99999999999999999999"}});
                 auto client = t.makeClient(t.server_->baseUrl(), 1);
                 const absl::Status status =
                     client->get(kube::resources::secrets(), kNs, "hostile").status();
                 EXPECT_LE(t.clock_.totalSlept(), std::chrono::seconds(12));
                 return status;
               },
               {StatusCode::kResourceExhausted, {"get secrets app/hostile", "slow down"}}});
  r.push_back({"slow_loris_body_byte_every_200ms",
               [](KubeHostileTest& t) {
                 t.answerWith([](const test::HttpServerRequest&) {
                   test::HttpServerResponse response;
                   response.stream = [](test::StreamWriter& writer) {
                     for (const char c : secretObject("hostile", kValue).dump()) {
                       if (!writer.write(std::string(1, c))) return;
                       for (int i = 0; i < 20 && !writer.closed(); ++i) {
                         std::this_thread::sleep_for(milliseconds(10));
                       }
                     }
                   };
                   return response;
                 });
                 auto client = t.makeClient(t.server_->baseUrl(), 0, milliseconds(1000));
                 return client->get(kube::resources::secrets(), kNs, "hostile").status();
               },
               {StatusCode::kDeadlineExceeded, {"get secrets app/hostile", "timed out"}}});
  r.push_back({"slow_loris_status_line_byte_every_200ms",
               [](KubeHostileTest& t) {
                 TricklingServer peer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
                 auto client = t.makeClient(peer.baseUrl(), 0, milliseconds(1000));
                 return client->get(kube::resources::secrets(), kNs, "hostile").status();
               },
               {StatusCode::kDeadlineExceeded, {"get secrets app/hostile", "timed out"}}});
  r.push_back(
      {"object_name_with_traversal",
       [](KubeHostileTest& t) {
         return t.client_->get(kube::resources::secrets(), kNs, "../../../api/v1/secrets").status();
       },
       {StatusCode::kInvalidArgument, {"get secrets", "name"}}});
  r.push_back(
      {"object_name_with_nul",
       [](KubeHostileTest& t) {
         return t.client_->get(kube::resources::secrets(), kNs, std::string("a\0b", 3)).status();
       },
       {StatusCode::kInvalidArgument, {"get secrets", "name"}}});
  r.push_back(
      {"secret_over_1_mib_at_the_api_server",
       [](KubeHostileTest& t) {
         test::KubeDoubleOptions options;
         options.tokens = {{kToken, "tester"}};
         auto kube = test::KubeDouble::start(options);
         EXPECT_TRUE(kube.ok()) << kube.status();
         EXPECT_TRUE((*kube)->createNamespace(kNs).ok());
         auto client = t.makeClient((*kube)->baseUrl());
         const std::string big = std::string(kValue) + std::string((1 << 20) + 16, 'b');
         const absl::Status status =
             client->create(kube::resources::secrets(), kNs, secretObject("hostile", big)).status();
         // Nothing was stored, and the next Secret is accepted.
         EXPECT_FALSE(client->get(kube::resources::secrets(), kNs, "hostile").ok());
         EXPECT_TRUE(
             client->create(kube::resources::secrets(), kNs, secretObject("next", "SENTINEL-N"))
                 .ok());
         return status;
       },
       {StatusCode::kInvalidArgument, {"create secrets app/hostile", "1048576"}}});
  return r;
}

// Validate that each hostile reply gives a named, bounded, single-line error free of the token
// and Secret values, and that the same client still reads the good Secret afterwards.
TEST_P(KubeHostileTest, NamedErrorNoLeakClientStillServes) {
  const KubeRow& row = GetParam();
  LogCapture log;
  const absl::Status status = row.act(*this);
  expectNamedError(status, row.expected, log.text(), {kToken, kValue});
  EXPECT_LE(status.message().size(), row.max_message_bytes);
  for (const char c : status.message()) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << "control byte in message";
  }
  auto good = client_->get(kube::resources::secrets(), kNs, "good");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)["metadata"]["name"], "good");
}

INSTANTIATE_TEST_SUITE_P(Rows, KubeHostileTest, ::testing::ValuesIn(rows()), rowName<KubeRow>);

// One hostile watch stream: `chunks` are fed in order after a good ADDED frame; the decoder must
// fail with the expected error and have delivered the good event first.
struct WatchRow {
  std::string name;
  std::string (*stream)();
  Expected expected;
};
// ctest names each case by its row; the row prints as its name only.
void PrintTo(const WatchRow& row, std::ostream* os) { *os << row.name; }

class WatchHostileTest : public ::testing::TestWithParam<WatchRow> {};

std::string goodFrame() {
  return json{{"type", "ADDED"}, {"object", secretObject("good", "SENTINEL-W")}}.dump() + "\n";
}

std::vector<WatchRow> watchRows() {
  using absl::StatusCode;
  return {
      {"frame_over_16_mib_without_newline",
       [] { return "{\"type\":\"ADDED\",\"object\":\"SENTINEL-" + std::string(17 << 20, 'f'); },
       {StatusCode::kResourceExhausted, {"watch"}}},
      {"frame_not_json",
       [] { return std::string("SENTINEL-NOT-JSON {\n"); },
       {StatusCode::kDataLoss, {"watch"}}},
      {"frame_truncated",
       [] {
         const std::string whole = goodFrame();
         return whole.substr(0, whole.size() / 2) + "\n";
       },
       {StatusCode::kDataLoss, {"watch"}}},
      {"frame_nested_100k_levels",
       [] {
         return "{\"type\":\"ADDED\",\"object\":" + std::string(100'000, '[') +
                std::string(100'000, ']') + "}\n";
       },
       {StatusCode::kDataLoss, {"watch"}}},
      {"frame_invalid_utf8",
       [] {
         return std::string("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"\xff\"}}}\n");
       },
       {StatusCode::kDataLoss, {"watch"}}},
      {"frame_unknown_type",
       [] {
         return json{{"type", "EXPLODED"}, {"object", secretObject("x", "SENTINEL-T")}}.dump() +
                "\n";
       },
       {StatusCode::kDataLoss, {"watch", "type"}}},
      {"frame_object_without_name",
       [] {
         return json{{"type", "MODIFIED"},
                     {"object", {{"kind", "Secret"}, {"data", {{"k", "SENTINEL-NN"}}}}}}
                    .dump() +
                "\n";
       },
       {StatusCode::kDataLoss, {"watch", "metadata.name"}}},
      {"frame_object_a_string",
       [] { return std::string(R"({"type":"ADDED","object":"SENTINEL-STR"})") + "\n"; },
       {StatusCode::kDataLoss, {"watch", "object"}}},
  };
}

// Validate that a hostile frame stops the decoder with a named error that quotes no frame, after
// the good event before it was delivered.
TEST_P(WatchHostileTest, NamedErrorNoLeakEarlierEventsDelivered) {
  const WatchRow& row = GetParam();
  LogCapture log;
  kube::WatchDecoder decoder;
  std::vector<std::string> names;
  const auto handler = [&](kube::WatchEvent&& event) {
    names.push_back(event.object["metadata"]["name"].get<std::string>());
    return true;
  };
  ASSERT_TRUE(decoder.feed(goodFrame(), handler).ok());
  absl::StatusOr<bool> fed = decoder.feed(row.stream(), handler);
  absl::Status status = fed.status();
  if (status.ok()) status = decoder.finish();
  // The decoder names the problem; the caller prefixes the watch, as RestKubeClient does.
  status = absl::Status(status.code(), absl::StrCat("watch secrets: ", status.message()));
  expectNamedError(status, row.expected, log.text());
  EXPECT_LE(status.message().size(), 512u);
  EXPECT_EQ(names, std::vector<std::string>{"good"});
}

INSTANTIATE_TEST_SUITE_P(Rows, WatchHostileTest, ::testing::ValuesIn(watchRows()),
                         rowName<WatchRow>);

}  // namespace
}  // namespace secretsync::hostile
