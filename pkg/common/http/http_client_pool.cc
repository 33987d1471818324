#include "pkg/common/http/http_client_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pkg/common/digest.h"
#include "pkg/common/status_macros.h"

namespace secretsync::common::http {
namespace {

// Everything that makes two clients differ. PEM bytes go in as digests: the CA bundle to keep
// the key short, the client key so that no copy of it lives in the map.
std::string poolKey(const TlsOptions& tls) {
  auto digest = [](const std::string& bytes) {
    return bytes.empty() ? std::string() : hexDigest(DigestAlgorithm::kSha256, bytes);
  };
  return absl::StrCat(digest(tls.ca_pem), "|", tls.ca_file, "|", digest(tls.client_cert_pem), "|",
                      tls.client_cert_file, "|", digest(tls.client_key_pem.reveal()), "|",
                      tls.client_key_file, "|", tls.server_name, "|",
                      tls.insecure_skip_verify ? 1 : 0);
}

}  // namespace

absl::StatusOr<std::shared_ptr<HttpClient>> HttpClientPool::clientFor(const TlsOptions& tls) {
  const std::string key = poolKey(tls);
  std::lock_guard lock(mu_);
  if (auto it = clients_.find(key); it != clients_.end()) {
    return it->second;
  }
  CurlHttpClientOptions http_options;
  http_options.tls = tls;
  http_options.request_timeout = options_.request_timeout;
  ASSIGN_OR_RETURN(HttpClientPtr client, newCurlHttpClient(http_options));
  std::shared_ptr<HttpClient> shared(std::move(client));
  while (!order_.empty() && clients_.size() >= options_.max_clients) {
    clients_.erase(order_.front());
    order_.pop_front();
  }
  clients_.emplace(key, shared);
  order_.push_back(key);
  return shared;
}

}  // namespace secretsync::common::http
