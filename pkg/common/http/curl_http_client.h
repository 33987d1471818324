#pragma once

#include <chrono>
#include <cstdint>

#include "absl/status/statusor.h"
#include "pkg/common/http/http_client.h"
#include "pkg/common/http/tls_options.h"

namespace secretsync::common::http {

struct CurlHttpClientOptions {
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{10'000};
  // Default whole-request timeout (HttpRequest::timeout overrides it). Vault's client uses 60 s.
  std::chrono::milliseconds request_timeout{60'000};
  // Negotiate HTTP/2 over TLS (ALPN) when the server offers it; plain HTTP stays HTTP/1.1.
  bool http2 = true;
  // Responses larger than this fail with kResourceExhausted instead of growing without bound.
  uint64_t max_response_bytes = 32ull << 20;
  // Idle easy handles (each holding its keep-alive connections) kept for reuse.
  uint32_t max_idle_handles = 16;
};

// Creates the libcurl HttpClient. Fails with kInvalidArgument when the TLS material cannot be
// loaded (unreadable file, both PEM bytes and a path given).
// curl_global_init must have run first (CurlGlobal in cmd/ and in test mains).
absl::StatusOr<HttpClientPtr> newCurlHttpClient(const CurlHttpClientOptions& options);

// Process-wide libcurl initialisation; construct exactly once in main() before any thread starts.
class CurlGlobal {
 public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

}  // namespace secretsync::common::http
