#include "test/support/http_server.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/support/curl_test_client.h"
#include "test/support/test_pki.h"

namespace secretsync::test {
namespace {

using ::testing::HasSubstr;

// Echoes what the server parsed, so tests can check the request model.
HttpServerResponse echo(const HttpServerRequest& req) {
  HttpServerResponse res;
  res.headers = {{"Content-Type", "text/plain"}, {"X-Method", req.method}, {"X-Path", req.path}};
  std::string q;
  for (const auto& [k, v] : req.query) {
    absl::StrAppend(&q, "[", k, "=", v, "]");
  }
  res.headers.emplace_back("X-Query", q);
  res.headers.emplace_back("X-Test-Header", req.header("X-TEST").value_or("<none>"));
  res.body = req.body;
  return res;
}

std::unique_ptr<HttpServer> startOrDie(HttpServerOptions options, HttpHandler handler) {
  auto server = HttpServer::start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// Sends raw bytes and returns whatever comes back until the peer closes (or 2 s pass).
std::string rawExchange(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "<connect failed>";
  }
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ssize_t ignored = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  (void)ignored;
  ::shutdown(fd, SHUT_WR);  // the server sees EOF after our bytes
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(HttpServerTest, ParsesRequestAndWritesResponse) {
  auto server = startOrDie({}, echo);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->baseUrl(), absl::StrCat("http://127.0.0.1:", server->port()));
  CurlTestClient client;
  auto res = client.request("POST", server->baseUrl() + "/v1/a%2Fb/c?x=1&y=a+b%21&flag",
                            {{"X-Test", "yes"}}, "hello body");
  ASSERT_EQ(res.curl_code, 0) << res.error;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "hello body");
  EXPECT_EQ(res.header("x-method"), "POST");
  EXPECT_EQ(res.header("x-path"), "/v1/a/b/c");
  EXPECT_EQ(res.header("x-query"), "[x=1][y=a b!][flag=]");
  EXPECT_EQ(res.header("x-test-header"), "yes");
  EXPECT_EQ(res.header("content-length"), "10");
}

TEST(HttpServerTest, AcceptsNonStandardMethods) {
  auto server = startOrDie({}, echo);
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  for (const char* method : {"LIST", "SCAN", "PATCH", "DELETE", "PUT"}) {
    auto res = client.request(method, server->baseUrl() + "/v1/secret/metadata/");
    EXPECT_EQ(res.status, 200) << method;
    EXPECT_EQ(res.header("x-method"), method);
  }
}

TEST(HttpServerTest, KeepAliveReusesOneConnection) {
  auto server = startOrDie({}, echo);
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  for (int i = 0; i < 25; ++i) {
    auto res = client.request(i % 2 ? "GET" : "LIST", server->baseUrl() + "/x", {},
                              i % 3 ? "" : "payload");
    ASSERT_EQ(res.status, 200) << res.error;
  }
  EXPECT_EQ(server->connectionsAccepted(), 1u);
  EXPECT_EQ(server->requestsHandled(), 25u);
  EXPECT_EQ(server->openConnections(), 1u);
}

TEST(HttpServerTest, ConnectionCloseFromHandlerEndsConnection) {
  auto server = startOrDie({}, [](const HttpServerRequest&) {
    return HttpServerResponse{.status = 200, .headers = {{"Connection", "close"}}, .body = "x"};
  });
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client.request("GET", server->baseUrl() + "/").status, 200);
  }
  EXPECT_EQ(server->connectionsAccepted(), 3u);
}

TEST(HttpServerTest, NoContentAndHeadHaveNoBody) {
  auto server = startOrDie({}, [](const HttpServerRequest& req) {
    HttpServerResponse res;
    res.status = req.path == "/204" ? 204 : 200;
    res.headers = {{"Content-Type", "application/json"}};
    res.body = "{\"a\":1}";
    return res;
  });
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  auto no_content = client.request("DELETE", server->baseUrl() + "/204");
  EXPECT_EQ(no_content.status, 204);
  EXPECT_EQ(no_content.body, "");
  EXPECT_EQ(no_content.header("content-type"), "application/json");
  auto head = client.request("HEAD", server->baseUrl() + "/x");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("content-length"), "7");
  // The connection survived both.
  EXPECT_EQ(client.request("GET", server->baseUrl() + "/x").body, "{\"a\":1}");
  EXPECT_EQ(server->connectionsAccepted(), 1u);
}

TEST(HttpServerTest, UnusualStatusCodes) {
  auto server = startOrDie({}, [](const HttpServerRequest& req) {
    return HttpServerResponse{.status = std::stoi(req.path.substr(1))};
  });
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  for (int status : {299, 429, 472, 473, 501, 503, 530}) {
    EXPECT_EQ(client.request("GET", absl::StrCat(server->baseUrl(), "/", status)).status, status);
  }
}

TEST(HttpServerTest, DropConnectionResetsWithoutReply) {
  auto server = startOrDie(
      {}, [](const HttpServerRequest&) { return HttpServerResponse{.drop_connection = true}; });
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  auto res = client.request("GET", server->baseUrl() + "/");
  EXPECT_EQ(res.status, 0);
  EXPECT_NE(res.curl_code, 0);
}

TEST(HttpServerTest, DelayIsApplied) {
  auto server = startOrDie({}, [](const HttpServerRequest&) {
    return HttpServerResponse{.body = "late", .delay = std::chrono::milliseconds(300)};
  });
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.request("GET", server->baseUrl() + "/").body, "late");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(290));
}

TEST(HttpServerTest, StopInterruptsDelaysAndIdleConnections) {
  auto server = startOrDie({}, [](const HttpServerRequest& req) {
    HttpServerResponse res;
    if (req.path == "/slow") {
      res.delay = std::chrono::seconds(60);
    }
    return res;
  });
  ASSERT_NE(server, nullptr);
  CurlTestClient idle;
  EXPECT_EQ(idle.request("GET", server->baseUrl() + "/").status, 200);
  std::thread slow([url = server->baseUrl()] {
    CurlTestClient client;
    client.request("GET", url + "/slow");
  });
  while (server->requestsHandled() < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto start = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  slow.join();
}

TEST(HttpServerTest, HandlerExceptionBecomes500) {
  auto server = startOrDie(
      {}, [](const HttpServerRequest&) -> HttpServerResponse { throw std::runtime_error("boom"); });
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  auto res = client.request("GET", server->baseUrl() + "/");
  EXPECT_EQ(res.status, 500);
  EXPECT_THAT(res.body, HasSubstr("boom"));
}

TEST(HttpServerTest, MalformedInputGets400AndServerSurvives) {
  auto server = startOrDie({}, echo);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(rawExchange(server->port(), "THIS IS NOT HTTP\r\n\r\n"), HasSubstr("400"));
  EXPECT_THAT(rawExchange(server->port(), "GET / HTTP/1.1\r\nContent-Length: banana\r\n\r\n"),
              HasSubstr("400"));
  EXPECT_THAT(rawExchange(server->port(), std::string("\0\x01\x02\xff\xfe", 5)), HasSubstr("400"));
  EXPECT_EQ(rawExchange(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n"), "");  // truncated
  EXPECT_EQ(rawExchange(server->port(), ""), "");
  // Chunked body works, pipelined requests are answered in order.
  std::string two =
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string out = rawExchange(server->port(), two);
  EXPECT_THAT(out, HasSubstr("X-Path: /a"));
  EXPECT_THAT(out, HasSubstr("abc"));
  EXPECT_THAT(out, HasSubstr("X-Path: /b"));
  CurlTestClient client;
  EXPECT_EQ(client.request("GET", server->baseUrl() + "/").status, 200);
}

TEST(HttpServerTest, OversizedBodyGets413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = startOrDie(options, echo);
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  auto res = client.request("POST", server->baseUrl() + "/", {}, std::string(4096, 'x'));
  // The server may close before curl finished sending; either way nothing reaches the handler.
  if (res.status != 0) {
    EXPECT_EQ(res.status, 413);
  }
  EXPECT_EQ(server->requestsHandled(), 0u);
}

TEST(HttpServerTest, ManyConcurrentClients) {
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  auto server = startOrDie({}, [&](const HttpServerRequest& req) {
    int now = ++in_flight;
    int prev = max_in_flight.load();
    while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    --in_flight;
    return HttpServerResponse{.body = req.path};
  });
  ASSERT_NE(server, nullptr);
  constexpr int kThreads = 200;
  constexpr int kRequests = 10;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      CurlTestClient client;
      for (int i = 0; i < kRequests; ++i) {
        std::string path = absl::StrCat("/t", t, "/", i);
        auto res = client.request("GET", server->baseUrl() + path);
        if (res.status == 200 && res.body == path) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), kThreads * kRequests);
  EXPECT_EQ(server->connectionsAccepted(), static_cast<uint64_t>(kThreads));
  EXPECT_GT(max_in_flight.load(), 1);
}

TEST(HttpServerTest, CloseAllConnectionsForcesReconnect) {
  auto server = startOrDie({}, echo);
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  EXPECT_EQ(client.request("GET", server->baseUrl() + "/").status, 200);
  server->closeAllConnections();
  while (server->openConnections() != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(client.request("GET", server->baseUrl() + "/").status, 200);
  EXPECT_EQ(server->connectionsAccepted(), 2u);
}

TEST(HttpServerTest, StreamingReplyIsChunkedAndKeepsTheConnection) {
  auto server = startOrDie({}, [](const HttpServerRequest& req) {
    HttpServerResponse res;
    if (req.path != "/stream") {
      return echo(req);
    }
    res.headers = {{"Content-Type", "application/json"}};
    res.stream = [](StreamWriter& writer) {
      for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(writer.write(absl::StrCat("{\"n\":", i, "}\n")));
      }
      EXPECT_TRUE(writer.write(""));
    };
    return res;
  });
  ASSERT_NE(server, nullptr);
  CurlTestClient client;
  auto r = client.request("GET", server->baseUrl() + "/stream");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
  EXPECT_EQ(r.header("transfer-encoding").value_or(""), "chunked");
  EXPECT_FALSE(r.hasHeader("content-length"));
  EXPECT_EQ(client.request("GET", server->baseUrl() + "/after").status, 200);
  EXPECT_EQ(server->connectionsAccepted(), 1u);
}

TEST(HttpServerTest, StopEndsOpenStreamsPromptly) {
  std::atomic<bool> streaming{false};
  std::atomic<bool> saw_closed{false};
  auto server = startOrDie({}, [&](const HttpServerRequest&) {
    HttpServerResponse res;
    res.stream = [&](StreamWriter& writer) {
      writer.write("start\n");
      streaming = true;
      while (!writer.closed()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      saw_closed = true;
      EXPECT_FALSE(writer.write("late\n"));
    };
    return res;
  });
  ASSERT_NE(server, nullptr);
  std::thread client_thread([url = server->baseUrl()] {
    CurlTestClient client;
    auto r = client.request("GET", url + "/");
    EXPECT_THAT(r.body, HasSubstr("start"));
  });
  while (!streaming) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto begin = std::chrono::steady_clock::now();
  server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
  EXPECT_TRUE(saw_closed);
  client_thread.join();
}

TEST(HttpServerTest, StreamNoticesClientHangUp) {
  std::atomic<bool> saw_closed{false};
  auto server = startOrDie({}, [&](const HttpServerRequest&) {
    HttpServerResponse res;
    res.stream = [&](StreamWriter& writer) {
      writer.write("start\n");
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!writer.closed() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      saw_closed = writer.closed();
    };
    return res;
  });
  ASSERT_NE(server, nullptr);
  {
    CurlTestClientOptions options;
    options.timeout_ms = 300;
    CurlTestClient client(options);
    auto r = client.request("GET", server->baseUrl() + "/");
    EXPECT_NE(r.curl_code, 0);  // timed out while the stream stayed open
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!saw_closed && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(saw_closed);
}

class HttpServerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = TestPki::generate();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new TestPki(std::move(*pki));
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static TestPki* pki_;
};
TestPki* HttpServerTlsTest::pki_ = nullptr;

TEST_F(HttpServerTlsTest, ServesHttpsWithTheRightCa) {
  HttpServerOptions options;
  options.tls = pki_->serverConfig();
  auto server = startOrDie(options, echo);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->baseUrl(), absl::StrCat("https://127.0.0.1:", server->port()));
  CurlTestClient client({.ca_pem = pki_->ca.cert_pem});
  for (int i = 0; i < 5; ++i) {
    auto res = client.request("POST", server->baseUrl() + "/tls", {}, "secret");
    ASSERT_EQ(res.curl_code, 0) << res.error;
    EXPECT_EQ(res.body, "secret");
  }
  EXPECT_EQ(server->connectionsAccepted(), 1u);
  // The SANs: localhost and vault.test verify too.
  CurlTestClient by_name({.ca_pem = pki_->ca.cert_pem});
  EXPECT_EQ(by_name.request("GET", absl::StrCat("https://localhost:", server->port(), "/")).status,
            200);
  CurlTestClient vault_test({.ca_pem = pki_->ca.cert_pem,
                             .resolve = absl::StrCat("vault.test:", server->port(), ":127.0.0.1")});
  auto res = vault_test.request("GET", absl::StrCat("https://vault.test:", server->port(), "/"));
  EXPECT_EQ(res.status, 200) << res.error;
}

TEST_F(HttpServerTlsTest, WrongCaIsRefused) {
  HttpServerOptions options;
  options.tls = pki_->serverConfig();
  auto server = startOrDie(options, echo);
  ASSERT_NE(server, nullptr);
  CurlTestClient client({.ca_pem = pki_->other_ca.cert_pem});
  auto res = client.request("GET", server->baseUrl() + "/");
  EXPECT_EQ(res.status, 0);
  EXPECT_NE(res.curl_code, 0);
  EXPECT_EQ(server->requestsHandled(), 0u);
  // Plain HTTP against the TLS port fails without hurting the server.
  CurlTestClient plain;
  EXPECT_NE(plain.request("GET", absl::StrCat("http://127.0.0.1:", server->port(), "/")).status,
            200);
  CurlTestClient good({.ca_pem = pki_->ca.cert_pem});
  EXPECT_EQ(good.request("GET", server->baseUrl() + "/").status, 200);
}

TEST_F(HttpServerTlsTest, ServerSignedByOtherCaIsRefusedByClientTrustingCa) {
  HttpServerOptions options;
  options.tls = TlsServerConfig{pki_->other_server.cert_pem, pki_->other_server.key_pem, ""};
  auto server = startOrDie(options, echo);
  ASSERT_NE(server, nullptr);
  CurlTestClient client({.ca_pem = pki_->ca.cert_pem});
  EXPECT_EQ(client.request("GET", server->baseUrl() + "/").status, 0);
}

TEST_F(HttpServerTlsTest, ClientCertificateRequired) {
  HttpServerOptions options;
  options.tls = pki_->serverConfig(/*require_client_cert=*/true);
  auto server = startOrDie(options, echo);
  ASSERT_NE(server, nullptr);
  CurlTestClient without({.ca_pem = pki_->ca.cert_pem});
  EXPECT_EQ(without.request("GET", server->baseUrl() + "/").status, 0);
  CurlTestClient wrong({.ca_pem = pki_->ca.cert_pem,
                        .client_cert_pem = pki_->other_server.cert_pem,
                        .client_key_pem = pki_->other_server.key_pem});
  EXPECT_EQ(wrong.request("GET", server->baseUrl() + "/").status, 0);
  CurlTestClient with({.ca_pem = pki_->ca.cert_pem,
                       .client_cert_pem = pki_->client.cert_pem,
                       .client_key_pem = pki_->client.key_pem});
  auto res = with.request("GET", server->baseUrl() + "/");
  EXPECT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(server->requestsHandled(), 1u);
}

TEST_F(HttpServerTlsTest, BadTlsMaterialFailsStart) {
  HttpServerOptions options;
  options.tls = TlsServerConfig{"not a cert", "not a key", ""};
  auto server = HttpServer::start(options, echo);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  options.tls = TlsServerConfig{pki_->server.cert_pem, pki_->client.key_pem, ""};
  EXPECT_FALSE(HttpServer::start(options, echo).ok());
}

TEST(TestPkiTest, FilesArePrivateAndRemoved) {
  auto pki = TestPki::generate();
  ASSERT_TRUE(pki.ok()) << pki.status();
  std::string dir;
  {
    auto files = TestPkiFiles::write(*pki);
    ASSERT_TRUE(files.ok()) << files.status();
    dir = files->dir();
    struct stat st {};
    ASSERT_EQ(::stat(files->serverKey().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(files->caCert().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_THAT(pki->ca.cert_pem, HasSubstr("BEGIN CERTIFICATE"));
    EXPECT_THAT(pki->server.key_pem, HasSubstr("PRIVATE KEY"));
  }
  struct stat st {};
  EXPECT_NE(::stat(dir.c_str(), &st), 0);
}

}  // namespace
}  // namespace secretsync::test
