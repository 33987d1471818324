#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/common/http/http_client.h"
#include "pkg/common/secret_string.h"

namespace secretsync::store::vault {

// One call to the Vault HTTP API.
struct VaultCall {
  // GET, LIST, POST, PUT, DELETE...
  std::string method = "GET";
  // Path below /v1/, without a leading slash: "secret/data/team/db", "auth/kubernetes/login".
  std::string path;
  // Query parameters, unescaped (the transport escapes them).
  std::vector<std::pair<std::string, std::string>> query;
  // JSON body; nullopt sends none.
  std::optional<nlohmann::json> body;
  // Sent as X-Vault-Token when set (logins send none).
  const common::SecretString* token = nullptr;
  // Whether to send X-Vault-Namespace (never to sys/health).
  bool send_namespace = true;
  // Low-cardinality form of `path` for metrics ("secret/data/*", "auth/kubernetes/login"); empty
  // lets the transport use the first path segment followed by "/*". Never a secret path itself.
  std::string path_template;
};

// Vault's reply after retries. `body` is the parsed JSON, or null when the body was empty;
// a body that is not JSON is a kDataLoss error from call().
struct VaultReply {
  int status = 0;
  nlohmann::json body;
  std::vector<common::http::Header> headers;
};

// Sends calls to one Vault server (address + namespace), with the official client's retry policy:
// 412, 429 and 5xx except 501, and transport kUnavailable, retried with jittered backoff, honouring
// Retry-After (capped), bounded attempts. After the last attempt the last reply is returned
// whatever its status: mapping a status to an error is the caller's (vault_errors.h), since a KV
// 404 with a body means something else than one without.
//
// Thread-safety: call() may be used from many threads at once.
class VaultTransport {
 public:
  virtual ~VaultTransport() = default;

  // @return the reply, or a transport error (codes as HttpClient's), or kDataLoss for a body that
  // is not JSON.
  virtual absl::StatusOr<VaultReply> call(const VaultCall& call) = 0;
};

using VaultTransportPtr = std::unique_ptr<VaultTransport>;

}  // namespace secretsync::store::vault
