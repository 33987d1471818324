#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pkg/common/backoff.h"
#include "pkg/common/clock.h"
#include "pkg/common/http/http_client.h"
#include "pkg/kube/kube_client.h"
#include "pkg/kube/kube_config.h"

namespace secretsync::kube {

// What the client reports after each HTTP attempt, for metrics
// (secretsync_kube_requests_total{verb,resource,code}) and debug logs. Holds nothing secret.
struct KubeRequestInfo {
  // get, list, watch, create, update, patch, apply, delete.
  std::string_view verb;
  std::string_view group;  // "" for the core group
  // Plural resource, with the subresource: "secrets", "externalsecrets/status",
  // "serviceaccounts/token".
  std::string_view resource;
  // HTTP status; 0 when no response came (then `transport_error` says why).
  int code = 0;
  absl::StatusCode transport_error = absl::StatusCode::kOk;
  std::chrono::nanoseconds duration{0};
  // 0 for the first attempt, 1 for the first retry...
  int attempt = 0;
  bool will_retry = false;
};

using KubeRequestObserver = std::function<void(const KubeRequestInfo&)>;

struct RestKubeClientOptions {
  // "secretsync/<version>" in the binary (cmd/ passes SECRETSYNC_VERSION).
  std::string user_agent = "secretsync";
  // fieldManager of every write when WriteOptions leaves it empty. Never rename it: ownership of
  // applied fields is recorded under this name.
  std::string field_manager = "secretsync";
  // Deadline of each non-watch attempt (the API server bounds requests at 60 s).
  std::chrono::milliseconds request_timeout{60'000};
  // Used only when the client creates its own HttpClient.
  std::chrono::milliseconds connect_timeout{10'000};
  // Retries after the first attempt (client-go: 10 for 429 with Retry-After).
  int max_retries = 5;
  // Wait between retries when the server gives no Retry-After.
  common::BackoffPolicy retry_backoff{std::chrono::milliseconds(250),
                                      std::chrono::milliseconds(8'000), 2.0, 0.5};
  // Longest wait a Retry-After can impose: one server asking for an hour must not park a worker.
  std::chrono::milliseconds retry_after_cap{10'000};
  // How often a token file is looked at again (client-go: once a minute); a 401 re-reads at once.
  std::chrono::seconds token_reread_interval{60};
  // A watch's own deadline is the timeout asked of the server plus this, so a server that never
  // ends the stream (or a dead peer) cannot hold it forever.
  std::chrono::seconds watch_grace{30};
  // Time source for retry sleeps and token re-reads; null = the real clock. Must outlive the
  // client.
  common::Clock* clock = nullptr;
  // Jitter source in [0, 1).
  common::UniformRandom random = common::threadLocalUniform;
  // Called after every attempt when set; must be thread-safe and quick.
  KubeRequestObserver observer;
};

// KubeClient over the common HttpClient: JSON bodies, `Accept: application/json`, the bearer token
// of the config (a token file is re-read every token_reread_interval and after a 401, then the
// request is sent once more), patch media types, server-side apply, TokenRequest, and watches
// decoded by WatchDecoder.
//
// Retry policy (bounded by max_retries, jittered backoff, Retry-After honoured up to
// retry_after_cap):
//   - 429 is retried for every verb: API Priority and Fairness rejects before anything ran.
//   - 5xx (but 501) and transport errors (kUnavailable, kDeadlineExceeded) are retried only where
//     running the request twice does no harm: get, list, update (PUT) carrying
//     metadata.resourceVersion (a replay gets 409, never a blind overwrite), apply (declarative),
//     merge patch (RFC 7386 is idempotent), delete with a uid or resourceVersion precondition (a
//     replay cannot delete a successor), and TokenRequest (mints a fresh token, changes nothing).
//   - Never retried on 5xx: create (a replay could create twice with generateName), strategic and
//     JSON patches (a JSON patch "add" to a list appends twice), unconditional PUT and delete.
//   - watch() does not retry; its caller (the informer) backs off and watches again.
// Errors come from apiErrorFromReply, prefixed "<verb> <resource> <namespace>/<name>". Values of
// a Secret's data in the request are cut out of any error message a server or webhook sends back.
//
// Thread-safety: all methods may be called from many threads at once. The HttpClient (when
// shared), the clock and the observer must allow that too.
class RestKubeClient final : public KubeClient {
 public:
  // `http` null: the client makes its own libcurl client from config.tls (curl_global_init must
  // have run). Otherwise `http` must outlive the client and carry config.tls itself.
  // Errors: kInvalidArgument for a config without a server or with unusable TLS material;
  // kFailedPrecondition when the token file cannot be read.
  static absl::StatusOr<std::unique_ptr<RestKubeClient>> create(KubeConfig config,
                                                                common::http::HttpClient* http,
                                                                RestKubeClientOptions options = {});

  ~RestKubeClient() override;

  // KubeClient
  absl::StatusOr<nlohmann::json> get(const Resource& resource, std::string_view namespace_name,
                                     std::string_view name) override;
  absl::StatusOr<ObjectList> list(const Resource& resource, std::string_view namespace_name,
                                  const ListOptions& options) override;
  absl::StatusOr<nlohmann::json> create(const Resource& resource, std::string_view namespace_name,
                                        const nlohmann::json& object,
                                        const WriteOptions& options = {}) override;
  absl::StatusOr<nlohmann::json> update(const Resource& resource, std::string_view namespace_name,
                                        const nlohmann::json& object,
                                        const WriteOptions& options = {}) override;
  absl::StatusOr<nlohmann::json> patch(const Resource& resource, std::string_view namespace_name,
                                       std::string_view name, PatchType type,
                                       const nlohmann::json& patch,
                                       const WriteOptions& options = {}) override;
  absl::StatusOr<nlohmann::json> apply(const Resource& resource, std::string_view namespace_name,
                                       const nlohmann::json& object,
                                       const WriteOptions& options = {}) override;
  absl::Status remove(const Resource& resource, std::string_view namespace_name,
                      std::string_view name, const DeleteOptions& options = {}) override;
  absl::Status watch(const Resource& resource, std::string_view namespace_name,
                     const WatchOptions& options, const WatchHandler& handler) override;
  absl::StatusOr<ServiceAccountToken> requestToken(std::string_view namespace_name,
                                                   std::string_view service_account,
                                                   const std::vector<std::string>& audiences,
                                                   std::chrono::seconds expiration) override;

  // @return the configuration's server URL (for logs; holds no credential).
  const std::string& server() const { return config_.server; }

  struct Call;
  class TokenSource;

 private:
  RestKubeClient(KubeConfig config, common::http::HttpClient* http,
                 common::http::HttpClientPtr owned_http, RestKubeClientOptions options,
                 std::unique_ptr<TokenSource> token);

  // Sends `call` with retries; @return a 2xx response or the error.
  absl::StatusOr<common::http::HttpResponse> execute(const Call& call);
  absl::StatusOr<nlohmann::json> executeJson(const Call& call);
  common::http::HttpRequest buildRequest(const Call& call, const common::SecretString& token) const;
  void report(const Call& call, int code, absl::StatusCode transport_error,
              std::chrono::nanoseconds duration, int attempt, bool will_retry) const;
  std::string fieldManager(const WriteOptions& options) const;

  const KubeConfig config_;
  const common::http::HttpClientPtr owned_http_;
  common::http::HttpClient* const http_;
  const RestKubeClientOptions options_;
  common::Clock& clock_;
  const std::unique_ptr<TokenSource> token_;
};

}  // namespace secretsync::kube
