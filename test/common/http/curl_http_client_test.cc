#include "pkg/common/http/curl_http_client.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pkg/common/log.h"
#include "test/support/http_server.h"
#include "test/support/test_pki.h"

namespace secretsync::common::http {
namespace {

using test::HttpServer;
using test::HttpServerOptions;
using test::HttpServerRequest;
using test::HttpServerResponse;
using ::testing::HasSubstr;
using ::testing::Not;

// libcurl's global state, set up before main() and before any thread, as CurlGlobal requires.
const CurlGlobal kCurlGlobal;

// Echoes the request back as JSON, so a test can check what arrived on the wire.
HttpServerResponse echo(const HttpServerRequest& request) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : request.headers) {
    headers[name] = value;
  }
  HttpServerResponse response;
  response.headers = {{"Content-Type", "application/json"}, {"X-Mixed-Case", "Value"}};
  response.body = nlohmann::json{
      {"method", request.method},
      {"target", request.target},
      {"body", request.body},
      {"headers",
       headers}}.dump();
  return response;
}

std::unique_ptr<HttpServer> startServer(test::HttpHandler handler,
                                        std::optional<test::TlsServerConfig> tls = std::nullopt) {
  HttpServerOptions options;
  options.tls = std::move(tls);
  auto server = HttpServer::start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

HttpClientPtr makeClient(const CurlHttpClientOptions& options = {}) {
  auto client = newCurlHttpClient(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

HttpRequest request(std::string method, std::string url, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  return r;
}

// The PKI is made once: generating keys per test would dominate the run time.
const test::TestPki& pki() {
  static const test::TestPki* const instance = [] {
    auto generated = test::TestPki::generate();
    EXPECT_TRUE(generated.ok()) << generated.status();
    return new test::TestPki(generated.ok() ? *std::move(generated) : test::TestPki{});
  }();
  return *instance;
}

// GET, POST, LIST and DELETE reach the server with their method, target, headers and body, and
// the response comes back with lower-cased header names.
TEST(CurlHttpClientTest, MethodsBodiesAndHeadersRoundTrip) {
  auto server = startServer(echo);
  auto client = makeClient();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);

  HttpRequest get = request("GET", server->baseUrl() + "/v1/secret/data/a?version=2");
  get.headers = {{"X-Vault-Token", "t-123"}, {"X-Empty", ""}};
  auto response = client->send(get);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  auto seen = nlohmann::json::parse(response->body);
  EXPECT_EQ(seen["method"], "GET");
  EXPECT_EQ(seen["target"], "/v1/secret/data/a?version=2");
  EXPECT_EQ(seen["headers"]["x-vault-token"], "t-123");
  EXPECT_EQ(seen["headers"]["x-empty"], "");
  EXPECT_EQ(seen["body"], "");
  EXPECT_EQ(response->header("X-MIXED-CASE"), "Value");
  bool lower_cased = false;
  for (const auto& [name, value] : response->headers) {
    lower_cased = lower_cased || (name == "x-mixed-case" && value == "Value");
  }
  EXPECT_TRUE(lower_cased);

  HttpRequest post = request("POST", server->baseUrl() + "/v1/auth/approle/login", "{\"a\":1}");
  post.headers = {{"Content-Type", "application/json"}};
  response = client->send(post);
  ASSERT_TRUE(response.ok()) << response.status();
  seen = nlohmann::json::parse(response->body);
  EXPECT_EQ(seen["method"], "POST");
  EXPECT_EQ(seen["body"], "{\"a\":1}");
  EXPECT_EQ(seen["headers"]["content-type"], "application/json");
  EXPECT_FALSE(seen["headers"].contains("expect"));

  // Without a Content-Type from the caller, libcurl's form-encoding default is not sent.
  response = client->send(request("PUT", server->baseUrl() + "/v1/x", "raw"));
  ASSERT_TRUE(response.ok()) << response.status();
  seen = nlohmann::json::parse(response->body);
  EXPECT_EQ(seen["method"], "PUT");
  EXPECT_EQ(seen["body"], "raw");
  EXPECT_FALSE(seen["headers"].contains("content-type"));

  response = client->send(request("LIST", server->baseUrl() + "/v1/secret/metadata/team"));
  ASSERT_TRUE(response.ok()) << response.status();
  seen = nlohmann::json::parse(response->body);
  EXPECT_EQ(seen["method"], "LIST");
  EXPECT_EQ(seen["target"], "/v1/secret/metadata/team");

  response = client->send(request("DELETE", server->baseUrl() + "/v1/x"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(nlohmann::json::parse(response->body)["method"], "DELETE");

  // A large body goes in one request without an Expect: 100-continue round trip.
  const std::string big(2 << 20, 'b');
  response = client->send(request("POST", server->baseUrl() + "/v1/big", big));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(nlohmann::json::parse(response->body)["body"].get<std::string>().size(), big.size());

  // HEAD gets headers only and does not wait for a body.
  response = client->send(request("HEAD", server->baseUrl() + "/v1/sys/health"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "");
}

// 4xx and 5xx are responses for the caller to interpret, not transport errors.
TEST(CurlHttpClientTest, ErrorStatusesAreResponses) {
  auto server = startServer([](const HttpServerRequest& request) {
    HttpServerResponse response;
    response.status = request.path == "/missing" ? 404 : 503;
    response.headers = {{"Retry-After", "3"}};
    response.body = "{\"errors\":[]}";
    return response;
  });
  auto client = makeClient();
  ASSERT_NE(server, nullptr);
  auto response = client->send(request("GET", server->baseUrl() + "/missing"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body, "{\"errors\":[]}");
  response = client->send(request("GET", server->baseUrl() + "/sealed"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->header("retry-after"), "3");
}

// Nothing listening: kUnavailable, worth a retry.
TEST(CurlHttpClientTest, ConnectionRefusedIsUnavailable) {
  std::string url;
  {
    auto server = startServer(echo);
    ASSERT_NE(server, nullptr);
    url = server->baseUrl() + "/v1/x";
  }
  auto client = makeClient();
  const auto response = client->send(request("GET", url));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("GET " + url));
}

// A server slower than the request's timeout: kDeadlineExceeded, on the per-request timeout and
// on the client's default one.
TEST(CurlHttpClientTest, SlowServerIsDeadlineExceeded) {
  auto server = startServer([](const HttpServerRequest&) {
    HttpServerResponse response;
    response.delay = std::chrono::seconds(5);
    return response;
  });
  ASSERT_NE(server, nullptr);
  auto client = makeClient();
  HttpRequest slow = request("GET", server->baseUrl() + "/slow");
  slow.timeout = std::chrono::milliseconds(200);
  const auto started = std::chrono::steady_clock::now();
  auto response = client->send(slow);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));

  CurlHttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(200);
  auto short_client = makeClient(options);
  response = short_client->send(request("GET", server->baseUrl() + "/slow"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
}

// A request whose cancel flag is set while the server is still thinking ends with kCancelled
// soon after, long before the server answers or the timeout; the client serves the next request.
TEST(CurlHttpClientTest, CancelFlagAbortsARequestInFlight) {
  auto server = startServer([](const HttpServerRequest& r) {
    HttpServerResponse response;
    if (r.path == "/slow") response.delay = std::chrono::seconds(6);
    return response;
  });
  ASSERT_NE(server, nullptr);
  auto client = makeClient();
  std::atomic<bool> cancel{false};
  HttpRequest slow = request("GET", server->baseUrl() + "/slow");
  slow.cancel = &cancel;
  std::thread stopper([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto started = std::chrono::steady_clock::now();
  auto response = client->send(slow);
  stopper.join();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled) << response.status();
  // libcurl looks at the flag about once a second while nothing moves.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  EXPECT_TRUE(client->send(request("GET", server->baseUrl() + "/fast")).ok());
}

// The server resets the connection without replying: kUnavailable.
TEST(CurlHttpClientTest, DroppedConnectionIsUnavailable) {
  auto server = startServer([](const HttpServerRequest&) {
    HttpServerResponse response;
    response.drop_connection = true;
    return response;
  });
  ASSERT_NE(server, nullptr);
  auto client = makeClient();
  const auto response = client->send(request("POST", server->baseUrl() + "/drop", "x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
}

// Sequential requests share one keep-alive connection through the handle pool.
TEST(CurlHttpClientTest, SequentialRequestsReuseOneConnection) {
  auto server = startServer(echo);
  ASSERT_NE(server, nullptr);
  auto client = makeClient();
  for (int i = 0; i < 20; ++i) {
    const auto response = client->send(request(i % 2 == 0 ? "GET" : "POST",
                                               server->baseUrl() + "/v1/n/" + std::to_string(i),
                                               i % 2 == 0 ? "" : "body"));
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->status, 200);
  }
  EXPECT_EQ(server->connectionsAccepted(), 1u);
  EXPECT_EQ(server->requestsHandled(), 20u);
}

// Many threads at once: every request succeeds and connections stay bounded by the pool.
TEST(CurlHttpClientTest, ConcurrentRequestsAllSucceed) {
  auto server = startServer(echo);
  ASSERT_NE(server, nullptr);
  auto client = makeClient();
  constexpr int kThreads = 16;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        const std::string path = "/v1/t" + std::to_string(t) + "/" + std::to_string(i);
        const auto response = client->send(request("GET", server->baseUrl() + path));
        if (response.ok() && response->status == 200 &&
            nlohmann::json::parse(response->body)["target"] == path) {
          ok.fetch_add(1);
        } else {
          ADD_FAILURE() << (response.ok() ? response->body : response.status().ToString());
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(ok.load(), kThreads * kRequests);
  EXPECT_LE(server->connectionsAccepted(), static_cast<uint64_t>(kThreads));
}

// Responses above max_response_bytes fail with kResourceExhausted; one at the limit passes.
TEST(CurlHttpClientTest, ResponseSizeCap) {
  auto server = startServer([](const HttpServerRequest& request) {
    HttpServerResponse response;
    response.body = std::string(request.path == "/big" ? 4096 : 1024, 'x');
    return response;
  });
  ASSERT_NE(server, nullptr);
  CurlHttpClientOptions options;
  options.max_response_bytes = 1024;
  auto client = makeClient(options);
  auto response = client->send(request("GET", server->baseUrl() + "/big"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted) << response.status();
  response = client->send(request("GET", server->baseUrl() + "/fits"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body.size(), 1024u);
}

// A one-shot raw HTTP/1.1 server that answers with a chunked body of `total` bytes, so the
// client cannot know the size up front (the test HttpServer always sends Content-Length).
class ChunkedServer {
 public:
  explicit ChunkedServer(size_t total) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    EXPECT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, total] {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      char buf[4096];
      std::string request;
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
          break;
        }
        request.append(buf, static_cast<size_t>(n));
      }
      std::string reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (size_t sent = 0; sent < total; sent += 1000) {
        reply += "3e8\r\n" + std::string(1000, 'c') + "\r\n";
      }
      reply += "0\r\n\r\n";
      // The client may hang up early; MSG_NOSIGNAL keeps that from raising SIGPIPE.
      static_cast<void>(::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL));
      ::close(fd);
    });
  }
  ~ChunkedServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/stream"; }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// Without a Content-Length the cap is enforced while the body streams in.
TEST(CurlHttpClientTest, ResponseSizeCapWithoutContentLength) {
  CurlHttpClientOptions options;
  options.max_response_bytes = 10'000;
  auto client = makeClient(options);
  {
    ChunkedServer server(50'000);
    const auto response = client->send(request("GET", server.url()));
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted) << response.status();
  }
  {
    ChunkedServer server(10'000);
    const auto response = client->send(request("GET", server.url()));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->body.size(), 10'000u);
  }
}

// Error messages name the method and URL but never a header value or the query string.
TEST(CurlHttpClientTest, ErrorMessagesCarryNoSecrets) {
  auto server = startServer([](const HttpServerRequest&) {
    HttpServerResponse response;
    response.delay = std::chrono::seconds(5);
    return response;
  });
  ASSERT_NE(server, nullptr);
  auto client = makeClient();
  HttpRequest slow =
      request("POST", server->baseUrl() + "/v1/sys/wrapping/unwrap?token=query-s3cret",
              "{\"token\":\"body-s3cret\"}");
  slow.headers = {{"X-Vault-Token", "header-s3cret"}};
  slow.timeout = std::chrono::milliseconds(100);
  auto response = client->send(slow);
  ASSERT_FALSE(response.ok());
  const std::string message(response.status().message());
  EXPECT_THAT(message, HasSubstr("POST " + server->baseUrl() + "/v1/sys/wrapping/unwrap"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret")));
  EXPECT_THAT(message, Not(HasSubstr("?")));

  // The same holds for a refused connection, and user:password in the URL is dropped too.
  const std::string refused = "http://user:pw-s3cret@127.0.0.1:1/v1/x?token=query-s3cret";
  response = client->send(request("GET", refused));
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.status().message(), HasSubstr("GET http://127.0.0.1:1/v1/x"));
  EXPECT_THAT(response.status().message(), Not(HasSubstr("s3cret")));

  // A header that would smuggle in a second line is refused without echoing it.
  HttpRequest injected = request("GET", server->baseUrl() + "/v1/x");
  injected.headers = {{"X-Vault-Token", "tok-s3cret\r\nX-Evil: 1"}};
  response = client->send(injected);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), Not(HasSubstr("s3cret")));
}

// Malformed URLs, unsupported schemes and bad method tokens are kInvalidArgument.
TEST(CurlHttpClientTest, BadRequestsAreInvalidArgument) {
  auto client = makeClient();
  for (const char* url : {"not a url", "ftp://127.0.0.1/x", "file:///etc/passwd", ""}) {
    const auto response = client->send(request("GET", url));
    ASSERT_FALSE(response.ok()) << url;
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument)
        << url << ": " << response.status();
  }
  const auto response = client->send(request("GE T", "http://127.0.0.1:1/"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
}

class CurlHttpsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(pki().ca.cert_pem.empty()); }

  static CurlHttpClientOptions withCa(const std::string& ca_pem) {
    CurlHttpClientOptions options;
    options.tls.ca_pem = ca_pem;
    return options;
  }
};

// The right CA, as PEM bytes or as a file, verifies the server; with HTTP/2 allowed, the
// HTTP/1.1-only server still works through ALPN fallback.
TEST_F(CurlHttpsTest, RightCaVerifies) {
  auto server = startServer(echo, pki().serverConfig());
  ASSERT_NE(server, nullptr);
  auto client = makeClient(withCa(pki().ca.cert_pem));
  auto response = client->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);

  // localhost is in the certificate as well.
  response =
      client->send(request("GET", "https://localhost:" + std::to_string(server->port()) + "/v1/x"));
  ASSERT_TRUE(response.ok()) << response.status();

  auto files = test::TestPkiFiles::write(pki());
  ASSERT_TRUE(files.ok()) << files.status();
  CurlHttpClientOptions from_file;
  from_file.tls.ca_file = files->caCert();
  auto file_client = makeClient(from_file);
  response = file_client->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
}

// A CA that did not sign the server's certificate, or the system store, is refused with
// kFailedPrecondition: configuration, not worth a retry.
TEST_F(CurlHttpsTest, WrongCaFails) {
  auto server = startServer(echo, pki().serverConfig());
  ASSERT_NE(server, nullptr);
  auto client = makeClient(withCa(pki().other_ca.cert_pem));
  auto response = client->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();

  auto system_store = makeClient();
  response = system_store->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();

  // Skipping verification is an explicit opt-in that lets the same request through, and never a
  // silent one: making such a client logs a warning (secure clients log nothing).
  std::ostringstream logged;
  log::LoggerOptions capture;
  capture.out = &logged;
  const log::LoggerOptions previous = log::configure(capture);
  CurlHttpClientOptions insecure = withCa(pki().other_ca.cert_pem);
  insecure.tls.insecure_skip_verify = true;
  auto insecure_client = makeClient(insecure);
  auto secure_client = makeClient(withCa(pki().ca.cert_pem));
  log::configure(previous);
  EXPECT_THAT(logged.str(), ::testing::HasSubstr("TLS certificate verification is OFF"));
  EXPECT_EQ(logged.str().find('\n'), logged.str().size() - 1) << logged.str();  // one line
  response = insecure_client->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_TRUE(response.ok()) << response.status();
}

// server_name: the certificate is checked against that name while the connection goes to the
// URL's address. The server here has a certificate for vault.test only.
TEST_F(CurlHttpsTest, ServerNameOverridesTheUrlHost) {
  test::CertSpec spec;
  spec.common_name = "vault.test";
  spec.dns_names = {"vault.test"};
  spec.server_auth = true;
  auto only_vault_test = test::issueCertificate(spec, &pki().ca);
  ASSERT_TRUE(only_vault_test.ok()) << only_vault_test.status();
  test::TlsServerConfig tls;
  tls.cert_pem = only_vault_test->cert_pem;
  tls.key_pem = only_vault_test->key_pem;
  auto server = startServer(echo, tls);
  ASSERT_NE(server, nullptr);

  // Against 127.0.0.1 the name does not match.
  auto plain = makeClient(withCa(pki().ca.cert_pem));
  auto response = plain->send(request("GET", server->baseUrl() + "/v1/x?list=true"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();

  CurlHttpClientOptions named = withCa(pki().ca.cert_pem);
  named.tls.server_name = "vault.test";
  auto client = makeClient(named);
  for (int i = 0; i < 3; ++i) {
    response = client->send(request("GET", server->baseUrl() + "/v1/x?list=true"));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(nlohmann::json::parse(response->body)["target"], "/v1/x?list=true");
  }
  EXPECT_EQ(server->connectionsAccepted(), 2u);  // one for `plain`, one reused by `client`

  named.tls.server_name = "other.test";
  auto wrong = makeClient(named);
  response = wrong->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
}

// Mutual TLS: the client certificate (PEM bytes or files) is presented; without one the server
// refuses the connection.
TEST_F(CurlHttpsTest, ClientCertificate) {
  auto server = startServer(echo, pki().serverConfig(/*require_client_cert=*/true));
  ASSERT_NE(server, nullptr);

  CurlHttpClientOptions with_cert = withCa(pki().ca.cert_pem);
  with_cert.tls.client_cert_pem = pki().client.cert_pem;
  with_cert.tls.client_key_pem = SecretString(pki().client.key_pem);
  auto client = makeClient(with_cert);
  auto response = client->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);

  auto files = test::TestPkiFiles::write(pki());
  ASSERT_TRUE(files.ok()) << files.status();
  CurlHttpClientOptions from_files;
  from_files.tls.ca_file = files->caCert();
  from_files.tls.client_cert_file = files->clientCert();
  from_files.tls.client_key_file = files->clientKey();
  auto file_client = makeClient(from_files);
  response = file_client->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_TRUE(response.ok()) << response.status();

  auto without = makeClient(withCa(pki().ca.cert_pem));
  response = without->send(request("GET", server->baseUrl() + "/v1/x"));
  ASSERT_FALSE(response.ok());
  // Under TLS 1.3 the refusal arrives after the handshake, as a read error carrying the alert;
  // either way it is configuration, not worth a retry.
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
}

// TLS options are validated up front; messages name the field, never key material.
TEST(CurlHttpClientOptionsTest, RejectsBadTlsOptions) {
  const auto code_and_message = [](const CurlHttpClientOptions& options) {
    auto client = newCurlHttpClient(options);
    EXPECT_FALSE(client.ok());
    return client.ok()
               ? std::make_pair(absl::StatusCode::kOk, std::string())
               : std::make_pair(client.status().code(), std::string(client.status().message()));
  };

  CurlHttpClientOptions both;
  both.tls.ca_pem = pki().ca.cert_pem;
  both.tls.ca_file = "/etc/hostname";
  auto [code, message] = code_and_message(both);
  EXPECT_EQ(code, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("ca_file"));

  CurlHttpClientOptions missing;
  missing.tls.ca_file = "/nonexistent/ca.crt";
  std::tie(code, message) = code_and_message(missing);
  EXPECT_EQ(code, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("ca_file"));

  CurlHttpClientOptions directory;
  directory.tls.client_cert_file = "/tmp";
  directory.tls.client_key_file = "/tmp";
  std::tie(code, message) = code_and_message(directory);
  EXPECT_EQ(code, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("client_cert_file"));

  CurlHttpClientOptions cert_only;
  cert_only.tls.client_cert_pem = pki().client.cert_pem;
  std::tie(code, message) = code_and_message(cert_only);
  EXPECT_EQ(code, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("client key"));

  CurlHttpClientOptions both_keys;
  both_keys.tls.client_cert_pem = pki().client.cert_pem;
  both_keys.tls.client_key_pem = SecretString(pki().client.key_pem);
  both_keys.tls.client_key_file = "/etc/hostname";
  std::tie(code, message) = code_and_message(both_keys);
  EXPECT_EQ(code, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("client_key"));
  EXPECT_THAT(message, Not(HasSubstr("PRIVATE KEY")));

  CurlHttpClientOptions garbage_key;
  garbage_key.tls.client_cert_pem = pki().client.cert_pem;
  garbage_key.tls.client_key_pem = SecretString("not-a-key-s3cret");
  std::tie(code, message) = code_and_message(garbage_key);
  EXPECT_EQ(code, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("client_key_pem"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret")));
}

}  // namespace
}  // namespace secretsync::common::http
