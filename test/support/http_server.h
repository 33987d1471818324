#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace secretsync::test {

// One parsed HTTP/1.1 request as a handler sees it.
struct HttpServerRequest {
  // The method token as sent, including non-standard ones such as Vault's LIST.
  std::string method;
  // The raw request target: path plus query, still percent-encoded.
  std::string target;
  // The percent-decoded path part of the target (no query).
  std::string path;
  // Query parameters in order, names and values percent-decoded ('+' is a space).
  std::vector<std::pair<std::string, std::string>> query;
  // Header fields in order; names lower-cased, values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Address of the peer, "127.0.0.1:54321".
  std::string remote;

  // @return the first value of header `name` (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  // @return the first value of query parameter `name` (exact match), or nullopt.
  std::optional<std::string> queryParam(std::string_view name) const;
};

// The sink a streaming reply writes to: each write() goes out as one HTTP/1.1 chunk at once.
//
// Thread-safety: use it only on the thread that runs the stream callback.
class StreamWriter {
 public:
  using WriteFn = std::function<bool(std::string_view)>;
  using ClosedFn = std::function<bool()>;
  StreamWriter(WriteFn write, ClosedFn closed)
      : write_(std::move(write)), closed_(std::move(closed)) {}

  // Sends `chunk` (empty chunks are skipped, as an empty chunk would end the body).
  // @return false once the client went away or the server is stopping; stop streaming then.
  bool write(std::string_view chunk);
  // @return true when the peer closed its side (a half-close counts: watch clients never send
  // after the request), a write failed, or the server is stopping.
  // Cheap enough to poll every few milliseconds while idle.
  bool closed();

 private:
  WriteFn write_;
  ClosedFn closed_;
  bool failed_ = false;
};

struct HttpServerResponse {
  int status = 200;
  // Added as given. Content-Length is computed by the server; Connection: close is honoured.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Closes the socket (with a TCP reset) without writing anything: a "connection reset" fault.
  bool drop_connection = false;
  // Sleeps this long before replying (or dropping); cut short when the server stops.
  std::chrono::milliseconds delay{0};
  // Set: a streaming reply. The status and headers go out with `Transfer-Encoding: chunked`
  // (`body` is ignored), then this runs on the connection's thread and writes the body chunk by
  // chunk; when it returns the last chunk is sent. Server stop makes writer.closed() true and
  // write() fail, so callbacks must poll closed() while they wait.
  std::function<void(StreamWriter&)> stream;
};

// Called once per request, on the connection's thread: must be safe to call concurrently. An
// exception escaping it becomes a 500.
using HttpHandler = std::function<HttpServerResponse(const HttpServerRequest&)>;

// TLS material for an HTTPS server (PEM bytes, e.g. from TestPki).
struct TlsServerConfig {
  std::string cert_pem;  // leaf first, then any intermediates
  std::string key_pem;
  // Non-empty: require a client certificate and verify it against these CAs.
  std::string client_ca_pem;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  // 0 picks a free port; read it back with port().
  uint16_t port = 0;
  // Set: serve HTTPS.
  std::optional<TlsServerConfig> tls;
  // Requests with a larger body get 413 (Vault's default max_request_size is 32 MiB).
  uint64_t max_body_bytes = 32ull << 20;
};

// A small threaded HTTP/1.1 (optionally TLS) server for tests, on Boost.Beast's synchronous API:
// one acceptor thread and one thread per connection, with keep-alive. Malformed requests get a
// 400 (oversized ones 413) and the connection is closed; nothing a peer sends can crash it.
//
// Responses are written whole, or streamed with chunked encoding when `stream` is set (watch
// responses of the Kubernetes API double).
//
// Thread-safety: all methods are safe from any thread. The handler runs concurrently on the
// connection threads. The destructor stops accepting, closes every connection (interrupting
// delays) and joins all threads; it must not be called from inside the handler.
class HttpServer {
 public:
  // Binds, listens and starts serving. Fails with kInvalidArgument for unusable TLS material and
  // kUnavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> start(HttpServerOptions options,
                                                           HttpHandler handler);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // @return the bound port.
  uint16_t port() const;
  // @return "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
  std::string baseUrl() const;
  // @return how many TCP connections were accepted since start.
  uint64_t connectionsAccepted() const;
  // @return how many requests were handed to the handler since start.
  uint64_t requestsHandled() const;
  // @return how many connections are open now.
  size_t openConnections() const;
  // Resets every open connection (clients must reconnect); the server keeps accepting.
  void closeAllConnections();
  // Stops accepting, closes all connections and joins every thread. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes `in`; with `plus_is_space` a '+' becomes ' ' (query strings). Malformed escapes
// are kept literally.
std::string urlDecode(std::string_view in, bool plus_is_space);

}  // namespace secretsync::test
