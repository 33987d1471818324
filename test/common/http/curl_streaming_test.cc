// HttpClient::sendStreaming of the libcurl client against a real local server that streams
// chunked bodies, as the Kubernetes API server streams watches.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/common/http/curl_http_client.h"
#include "test/support/http_server.h"
#include "test/support/test_pki.h"

namespace secretsync::common::http {
namespace {

using test::HttpServer;
using test::HttpServerOptions;
using test::HttpServerRequest;
using test::HttpServerResponse;
using test::StreamWriter;
using ::testing::HasSubstr;

const CurlGlobal kCurlGlobal;

// A local server running `handler` and a libcurl client for it.
struct Peer {
  std::unique_ptr<HttpServer> server;
  HttpClientPtr client;
};

Peer connect(test::HttpHandler handler, const CurlHttpClientOptions& client_options = {},
             std::optional<test::TlsServerConfig> tls = std::nullopt) {
  HttpServerOptions server_options;
  server_options.tls = std::move(tls);
  auto server = HttpServer::start(std::move(server_options), std::move(handler));
  auto client = newCurlHttpClient(client_options);
  EXPECT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(client.ok()) << client.status();
  if (!server.ok() || !client.ok()) return {};
  return {*std::move(server), *std::move(client)};
}

// A streaming reply that writes `chunks` with a pause between them, then keeps the stream open
// for `hold` (polling closed() so a client going away or the server stopping ends it).
HttpServerResponse streamed(std::vector<std::string> chunks, std::chrono::milliseconds pause,
                            std::chrono::milliseconds hold = std::chrono::milliseconds(0)) {
  HttpServerResponse response;
  response.headers = {{"Content-Type", "application/json"}};
  response.stream = [chunks = std::move(chunks), pause, hold](StreamWriter& writer) {
    for (const std::string& chunk : chunks) {
      if (!writer.write(chunk)) return;
      std::this_thread::sleep_for(pause);
    }
    const auto until = std::chrono::steady_clock::now() + hold;
    while (std::chrono::steady_clock::now() < until && !writer.closed()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  return response;
}

HttpRequest get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  return request;
}

// Each chunk reaches the handler while the stream is still open, and the pieces add up to the
// body; the response carries status and headers but no body.
TEST(CurlStreamingTest, ChunksArriveAsTheyAreSent) {
  auto [server, client] = connect([](const HttpServerRequest&) {
    return streamed({"{\"a\":1}\n", "{\"b\":", "2}\n"}, std::chrono::milliseconds(50));
  });
  ASSERT_NE(server, nullptr);
  std::string body;
  int calls = 0;
  auto response = client->sendStreaming(
      get(server->baseUrl() + "/watch"),
      [&](std::string_view chunk) {
        body.append(chunk);
        ++calls;
        return true;
      },
      nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->body, "");
  EXPECT_EQ(body, "{\"a\":1}\n{\"b\":2}\n");
  // The server paused between its writes, so they cannot all have come in one piece.
  EXPECT_GE(calls, 2);
}

// An error reply is a document, not a stream: it comes back whole and the handler never runs.
TEST(CurlStreamingTest, ErrorBodyIsReturnedWhole) {
  auto [server, client] = connect([](const HttpServerRequest&) {
    HttpServerResponse response;
    response.status = 410;
    response.headers = {{"Retry-After", "2"}};
    response.body = R"({"kind":"Status","code":410})";
    return response;
  });
  ASSERT_NE(server, nullptr);
  bool called = false;
  auto response = client->sendStreaming(
      get(server->baseUrl() + "/watch"),
      [&](std::string_view) {
        called = true;
        return true;
      },
      nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 410);
  EXPECT_EQ(response->body, R"({"kind":"Status","code":410})");
  EXPECT_EQ(response->header("retry-after"), "2");
  EXPECT_FALSE(called);
}

// Setting the stop flag ends an idle stream promptly, without an error.
TEST(CurlStreamingTest, StopEndsAnIdleStream) {
  auto [server, client] = connect([](const HttpServerRequest&) {
    return streamed({"first\n"}, std::chrono::milliseconds(0), std::chrono::seconds(30));
  });
  ASSERT_NE(server, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<bool> got_first{false};
  std::chrono::steady_clock::time_point stopped_at;
  std::thread stopper([&] {
    while (!got_first.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stopped_at = std::chrono::steady_clock::now();
    stop.store(true);
  });
  auto response = client->sendStreaming(
      get(server->baseUrl() + "/watch"),
      [&](std::string_view) {
        got_first.store(true);
        return true;
      },
      &stop);
  const auto returned_at = std::chrono::steady_clock::now();
  stopper.join();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  // The contract is 100 ms; allow for a loaded machine, far below the 30 s the server holds.
  EXPECT_LT(returned_at - stopped_at, std::chrono::seconds(2));
}

// A stop flag set before the request means no response: kCancelled.
TEST(CurlStreamingTest, StopBeforeResponseIsCancelled) {
  auto [server, client] = connect([](const HttpServerRequest&) {
    HttpServerResponse response;
    response.delay = std::chrono::seconds(5);
    return response;
  });
  ASSERT_NE(server, nullptr);
  std::atomic<bool> stop{true};
  auto response = client->sendStreaming(
      get(server->baseUrl() + "/watch"), [](std::string_view) { return true; }, &stop);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled) << response.status();
}

// A handler returning false ends the transfer; that is not an error.
TEST(CurlStreamingTest, HandlerReturningFalseEndsTheStream) {
  auto [server, client] = connect([](const HttpServerRequest&) {
    return streamed({"one\n", "two\n"}, std::chrono::milliseconds(20), std::chrono::seconds(30));
  });
  ASSERT_NE(server, nullptr);
  std::string seen;
  const auto start = std::chrono::steady_clock::now();
  auto response = client->sendStreaming(
      get(server->baseUrl() + "/watch"),
      [&](std::string_view chunk) {
        seen.append(chunk);
        return false;
      },
      nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(seen, "one\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// request.timeout bounds a stream; without one the client's default request timeout does not
// apply (a watch may run for minutes).
TEST(CurlStreamingTest, TimeoutBoundsTheStream) {
  CurlHttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(200);
  auto [server, client] = connect(
      [](const HttpServerRequest&) {
        return streamed({"x\n"}, std::chrono::milliseconds(0), std::chrono::seconds(30));
      },
      options);
  ASSERT_NE(server, nullptr);

  HttpRequest request = get(server->baseUrl() + "/watch");
  request.timeout = std::chrono::milliseconds(300);
  auto response = client->sendStreaming(
      request, [](std::string_view) { return true; }, nullptr);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();

  // No request timeout: the 200 ms default of send() does not cut the stream; the stop flag does.
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    stop.store(true);
  });
  response = client->sendStreaming(
      get(server->baseUrl() + "/watch"), [](std::string_view) { return true; }, &stop);
  stopper.join();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
}

// Streams work over TLS with the client's CA, and a refused connection is kUnavailable.
TEST(CurlStreamingTest, TlsAndTransportErrors) {
  auto pki = test::TestPki::generate();
  ASSERT_TRUE(pki.ok()) << pki.status();
  CurlHttpClientOptions options;
  options.tls.ca_pem = pki->ca.cert_pem;
  auto [server, client] = connect(
      [](const HttpServerRequest&) { return streamed({"secure\n"}, std::chrono::milliseconds(0)); },
      options, pki->serverConfig());
  ASSERT_NE(server, nullptr);
  std::string body;
  auto response = client->sendStreaming(
      get(server->baseUrl() + "/watch"),
      [&](std::string_view chunk) {
        body.append(chunk);
        return true;
      },
      nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(body, "secure\n");

  const std::string url = server->baseUrl() + "/watch?token=hidden";
  server.reset();
  response = client->sendStreaming(
      get(url), [](std::string_view) { return true; }, nullptr);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(std::string(response.status().message()), ::testing::Not(HasSubstr("hidden")));
}

}  // namespace
}  // namespace secretsync::common::http
