#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/http/http_client.h"
#include "pkg/common/http/tls_options.h"

namespace secretsync::common::http {

// libcurl clients shared by TLS settings: every store or mount that talks to its server with the
// same CA, client certificate and key, server name and verification mode uses one client, and so
// one set of keep-alive connections. Settings that differ in any of these never share a client
// (a client certificate is an identity). The key holds digests, never the key material.
//
// The pool keeps at most `max_clients`; past that it forgets the oldest, and whoever still holds
// that client keeps it alive through its shared_ptr.
//
// Thread-safety: clientFor() may be called from many threads at once.
class HttpClientPool {
 public:
  struct Options {
    // Default whole-request timeout of the clients made.
    std::chrono::milliseconds request_timeout{60'000};
    size_t max_clients = 64;
  };

  explicit HttpClientPool(Options options) : options_(options) {}

  // The client for `tls`, made on first use. Errors are newCurlHttpClient's (unreadable TLS
  // material).
  absl::StatusOr<std::shared_ptr<HttpClient>> clientFor(const TlsOptions& tls);

 private:
  const Options options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<HttpClient>> clients_ ABSL_GUARDED_BY(mu_);
  // Keys of clients_, oldest first.
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace secretsync::common::http
