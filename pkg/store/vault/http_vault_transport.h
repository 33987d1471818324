#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pkg/common/backoff.h"
#include "pkg/common/clock.h"
#include "pkg/common/http/http_client.h"
#include "pkg/store/vault/vault_transport.h"

namespace secretsync::store::vault {

// What the transport reports after each HTTP attempt, for metrics and debug logs. Holds no token,
// query value or body: only what is safe as a metric label or log field.
struct VaultAttempt {
  std::string_view method;
  // Low-cardinality form of the path (VaultCall::path_template, or "<first segment>/*").
  std::string_view path_template;
  // HTTP status, or 0 when the attempt failed below HTTP (then `transport_error` says how).
  int status = 0;
  absl::StatusCode transport_error = absl::StatusCode::kOk;
  std::chrono::nanoseconds duration{0};
  // 0 for the first attempt, 1 for the first retry...
  int attempt = 0;
  // Whether another attempt follows this one.
  bool will_retry = false;
};

using VaultAttemptObserver = std::function<void(const VaultAttempt&)>;

struct HttpVaultTransportOptions {
  // Base URL, e.g. "https://vault:8200". Trailing slashes are ignored.
  std::string address;
  // Vault Enterprise / OpenBao namespace ("ns1/ns2"); sent as X-Vault-Namespace when not empty
  // and the call allows it.
  std::string vault_namespace;
  // Retries after the first attempt; the official client's default is 2 (3 attempts in all).
  int max_retries = 2;
  // Wait before retry n (0-based) is (n + 1) * uniform(min_retry_wait, max_retry_wait), as
  // go-retryablehttp's LinearJitterBackoff.
  std::chrono::milliseconds min_retry_wait{1000};
  std::chrono::milliseconds max_retry_wait{1500};
  // Longest wait a Retry-After header can impose; the official client has no cap, but one server
  // answering "Retry-After: 86400" must not park a sync worker for a day.
  std::chrono::milliseconds retry_after_cap{30'000};
  // Deadline of each HTTP attempt (the official client's default is 60 s).
  std::chrono::milliseconds request_timeout{60'000};
  // Called after every attempt when set; must be thread-safe and quick.
  VaultAttemptObserver observer;
  // When set and it becomes true (the process is stopping), the attempt in flight is aborted and
  // no retry or Retry-After wait follows: call() returns kCancelled within about 100 ms. Must
  // outlive the transport.
  const std::atomic<bool>* cancel = nullptr;
  // Source of jitter in [0, 1); tests inject a fixed one.
  common::UniformRandom random = common::threadLocalUniform;
};

// VaultTransport over an HttpClient: builds `<address>/v1/<path>?<query>`, sends the Vault headers
// (X-Vault-Token, X-Vault-Namespace, X-Vault-Request) and applies the official client's retry
// policy (see vault_transport.h), sleeping through the Clock so tests drive time by hand. One
// redirect within the configured origin (scheme, host and port) is followed with method and body
// kept; a redirect to another host or port, or from https to anything else, is refused
// (kFailedPrecondition) because the token and a login's credentials would follow it (unlike
// Vault's own client). A second redirect is returned as the reply.
//
// Reply bodies: empty → `body` null. A body that is not JSON is kDataLoss on a 2xx reply; on an
// error status (a proxy's HTML 502 page, say) it is dropped and `body` is null, so the caller maps
// the status (kUnavailable...) rather than reporting a parse failure. In an error reply's `errors`
// strings the credentials the call sent (its token, a login body's values but role and role_id) are
// replaced with kRedactedCredential, so a server quoting them cannot put them in our messages.
//
// Thread-safety: call() may be used from many threads at once; the HttpClient, the Clock, the
// observer and the random source must allow that too. The client and clock must outlive this.
inline constexpr std::string_view kRedactedCredential = "<redacted>";

class HttpVaultTransport final : public VaultTransport {
 public:
  HttpVaultTransport(common::http::HttpClient& http, common::Clock& clock,
                     HttpVaultTransportOptions options);

  absl::StatusOr<VaultReply> call(const VaultCall& call) override;

  // @return the URL a call goes to (exposed for tests and diagnostics; holds no token).
  std::string urlFor(const VaultCall& call) const;

  const HttpVaultTransportOptions& options() const { return options_; }

 private:
  // Sends `request` with the retry policy, reporting each attempt to the observer.
  absl::StatusOr<common::http::HttpResponse> sendWithRetries(
      const VaultCall& call, const common::http::HttpRequest& request);
  // @return the URL a redirect reply with a Location points to, or an error when it may not be
  // followed.
  absl::StatusOr<std::string> redirectTarget(const common::http::HttpResponse& response) const;
  // @return the wait before retry `retry` (0-based) after `response`.
  std::chrono::nanoseconds retryWait(int retry, const common::http::HttpResponse* response) const;
  // Sleeps `wait` through the clock. @return false, early, when the cancel flag is set.
  bool waitBeforeRetry(std::chrono::nanoseconds wait) const;

  common::http::HttpClient& http_;
  common::Clock& clock_;
  const HttpVaultTransportOptions options_;
  // `options_.address` without trailing slashes.
  const std::string base_url_;
};

// @return whether the official client's policy retries an HTTP status: 412, 429 and 5xx but 501.
bool isRetryableVaultStatus(int status);

// @return whether `status` is a redirect the transport follows (once): 301, 302, 307, 308.
bool isRedirectStatus(int status);

// @return whether a transport error (HttpClient's codes) is worth another attempt: only
// kUnavailable (connection refused or reset, DNS, empty reply). TLS failures, timeouts and bad
// requests are not.
bool isRetryableTransportError(const absl::Status& status);

// Parses a Vault reply body: empty or blank → null; JSON → its value. Bodies that are not JSON or
// nest deeper than kMaxReplyNesting are errors (kDataLoss, naming no content), since deep nesting
// would overflow the stack in the recursive copies and comparisons of nlohmann::json later on.
// Never throws.
inline constexpr int kMaxReplyNesting = 256;
absl::StatusOr<nlohmann::json> parseReplyBody(std::string_view body);

// Percent-encodes a Vault path for a URL, keeping "/" and the characters Go's url.PathEscape keeps.
std::string escapeVaultPath(std::string_view path);

}  // namespace secretsync::store::vault
