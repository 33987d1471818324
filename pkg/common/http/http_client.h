#pragma once

#include <atomic>
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

namespace secretsync::common::http {

// One header line. Names are kept as given on requests and lower-cased on responses.
using Header = std::pair<std::string, std::string>;

struct HttpRequest {
  // Any token, including non-standard ones such as Vault's LIST.
  std::string method = "GET";
  // Absolute URL: scheme, host, port, path and query.
  std::string url;
  std::vector<Header> headers;
  std::string body;
  // Whole-request deadline; zero means the client's default.
  std::chrono::milliseconds timeout{0};
  // When set and it becomes true, the request ends at once with kCancelled (a process shutting
  // down must not wait out a slow server). Must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  int status = 0;
  // Names lower-cased, in the order received.
  std::vector<Header> headers;
  std::string body;

  // @return the first value of header `name` (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

// Sends HTTP requests. A transport failure (no connection, timeout, TLS refusal) is an error
// Status; any HTTP status, 4xx and 5xx included, is a successful HttpResponse: deciding what a
// status means belongs to the caller, who knows the protocol.
//
// Status codes for transport failures (mapped in one place, the implementation):
//   kUnavailable        connection refused or reset, DNS failure, empty reply: worth a retry
//   kDeadlineExceeded   the request timed out
//   kFailedPrecondition TLS verification or client-certificate failure: configuration, no retry
//   kInvalidArgument    a malformed URL or request
//   kResourceExhausted  the response was larger than the configured limit
//
// Thread-safety: send() and sendStreaming() may be called from many threads at once.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends `request` and waits for the whole response.
  // @return the response, or a transport error as described above.
  virtual absl::StatusOr<HttpResponse> send(const HttpRequest& request) = 0;

  // Receives a streamed body piece by piece; returning false ends the transfer.
  using BodyChunkHandler = std::function<bool(std::string_view chunk)>;

  // Sends `request` and hands a 2xx response's body to `on_body` as it arrives, in pieces of any
  // size (a long-lived stream such as a Kubernetes watch is never held whole). A non-2xx reply is
  // an error document, not a stream: its body is returned whole in HttpResponse::body (bounded by
  // the client's size limit) and `on_body` is not called. `request.timeout` bounds the whole
  // exchange; zero means no bound (the stream lasts as long as the server keeps it open).
  // The transfer also ends, with the response returned as usual, when `on_body` returns false or
  // `*stop` (when not null) becomes true; `stop` is checked at least every 100 ms, also while the
  // stream is idle.
  // @return the status and headers (body empty for 2xx), or a transport error as for send().
  virtual absl::StatusOr<HttpResponse> sendStreaming(const HttpRequest& request,
                                                     const BodyChunkHandler& on_body,
                                                     const std::atomic<bool>* stop) = 0;
};

using HttpClientPtr = std::unique_ptr<HttpClient>;

}  // namespace secretsync::common::http
