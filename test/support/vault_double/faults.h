#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "test/support/http_server.h"

namespace secretsync::test::vault {

// One fault: requests matching `method` and `path_prefix` get this treatment, `times` times.
struct FaultRule {
  // Exact method as sent ("GET", "LIST"); empty matches any.
  std::string method;
  // Prefix of the path after /v1/ ("secret/data/", "auth/kubernetes/login"); empty matches any.
  std::string path_prefix;
  // How many requests it applies to; -1 for unlimited.
  int times = -1;
  // Non-zero: reply with this status instead of serving the request.
  int status = 0;
  // Body for `status`; empty gives {"errors":[]} (or nothing for 204/1xx).
  std::string body;
  std::optional<std::string> retry_after;
  std::vector<std::pair<std::string, std::string>> headers;
  // Added before the reply (served or injected).
  std::chrono::milliseconds latency{0};
  // Reset the connection instead of replying.
  bool drop_connection = false;
  // Non-empty: 307 to this base URL plus the original target (path and query kept).
  std::string redirect_to;

  // 503 {"errors":["Vault is sealed"]}.
  static FaultRule sealed(int times = -1);
  // `status` with {"errors":[message]} (or {"errors":[]} when message is empty).
  static FaultRule error(int status, const std::string& message, int times = -1);
  // 429, with Retry-After when `retry_after` is set.
  static FaultRule rateLimited(std::optional<std::string> retry_after, int times = -1);
  // Resets the connection.
  static FaultRule dropConnection(int times = -1);
  // Delays the normal reply.
  static FaultRule latencyOnly(std::chrono::milliseconds latency, int times = -1);
};

// The fault list of the Vault double: the first matching rule with uses left wins.
//
// Thread-safety: not thread-safe; VaultDouble calls it under its mutex.
class FaultInjector {
 public:
  uint64_t add(FaultRule rule);
  void remove(uint64_t id);
  void clear() { rules_.clear(); }
  // Consumes one use of the first matching rule. @return a copy of it, or nullopt.
  std::optional<FaultRule> match(const std::string& method, const std::string& path);
  // @return how many times rule `id` has fired.
  uint64_t hits(uint64_t id) const;

 private:
  struct Entry {
    uint64_t id;
    FaultRule rule;
    uint64_t hits = 0;
  };
  std::vector<Entry> rules_;
  uint64_t next_id_ = 1;
};

// Turns a matched rule into the reply it describes (for rules with a status or redirect).
HttpServerResponse faultResponse(const FaultRule& rule, const HttpServerRequest& request);

}  // namespace secretsync::test::vault
