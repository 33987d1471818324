#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/kube/resource.h"

namespace secretsync::kube {

// Query parameters of a list (kubernetes-api.md §2.1).
struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  // Page size; 0 = no limit.
  int64_t limit = 0;
  std::string continue_token;
  // "" = a consistent read; "0" = any (served from the watch cache).
  std::string resource_version;
};

// One page of a list.
struct ObjectList {
  std::vector<nlohmann::json> items;
  // metadata.resourceVersion of the list: where a watch starts.
  std::string resource_version;
  // metadata.continue; empty on the last page.
  std::string continue_token;
};

// A watch (kubernetes-api.md §2.3).
struct WatchOptions {
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  // Asked of the server; the stream ends normally after it. 0 = the server's choice.
  std::chrono::seconds timeout{0};
  // When set and true, the watch ends within about 100 ms (returns OK).
  const std::atomic<bool>* stop = nullptr;
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kAdded;
  // The object; for kBookmark only metadata.resourceVersion; for kError the Status object.
  nlohmann::json object;
};

// Returning false ends the watch (watch() then returns OK).
using WatchHandler = std::function<bool(const WatchEvent&)>;

enum class PatchType { kMerge, kStrategicMerge, kJson };

struct WriteOptions {
  // fieldManager; empty = the client's default ("secretsync").
  std::string field_manager;
  // "status" to write the status subresource.
  std::string subresource;
  // Server-side apply only: take ownership of fields other managers own.
  bool force = false;
};

struct DeleteOptions {
  // "Background", "Foreground", "Orphan"; empty = the server's default.
  std::string propagation_policy;
  // Preconditions: delete only this incarnation / this version.
  std::string uid;
  std::string resource_version;
};

// A token from TokenRequest (kubernetes-api.md §4.3).
struct ServiceAccountToken {
  std::string token;  // a secret: never log it
  std::chrono::system_clock::time_point expiration;
};

// A client of the Kubernetes API with JSON objects. Errors from the server are built by
// apiErrorFromReply (api_error.h) and tested with isNotFound/isConflict/...; transport errors keep
// the HttpClient's codes. Messages name the resource and object, never a Secret's data.
//
// Thread-safety: all methods may be called from many threads at once.
class KubeClient {
 public:
  virtual ~KubeClient() = default;

  virtual absl::StatusOr<nlohmann::json> get(const Resource& resource,
                                             std::string_view namespace_name,
                                             std::string_view name) = 0;
  // One page. `namespace_name` "" lists all namespaces (or a cluster-scoped kind).
  virtual absl::StatusOr<ObjectList> list(const Resource& resource, std::string_view namespace_name,
                                          const ListOptions& options) = 0;
  virtual absl::StatusOr<nlohmann::json> create(const Resource& resource,
                                                std::string_view namespace_name,
                                                const nlohmann::json& object,
                                                const WriteOptions& options = {}) = 0;
  // PUT of the whole object (metadata.resourceVersion makes it conditional).
  virtual absl::StatusOr<nlohmann::json> update(const Resource& resource,
                                                std::string_view namespace_name,
                                                const nlohmann::json& object,
                                                const WriteOptions& options = {}) = 0;
  virtual absl::StatusOr<nlohmann::json> patch(const Resource& resource,
                                               std::string_view namespace_name,
                                               std::string_view name, PatchType type,
                                               const nlohmann::json& patch,
                                               const WriteOptions& options = {}) = 0;
  // Server-side apply of `object` (it names itself) as options.field_manager.
  virtual absl::StatusOr<nlohmann::json> apply(const Resource& resource,
                                               std::string_view namespace_name,
                                               const nlohmann::json& object,
                                               const WriteOptions& options = {}) = 0;
  virtual absl::Status remove(const Resource& resource, std::string_view namespace_name,
                              std::string_view name, const DeleteOptions& options = {}) = 0;
  // Streams events to `handler` until the server ends the stream (OK), the handler returns
  // false (OK), options.stop is set (OK), or an error: a 410 ERROR event in the stream is also
  // returned as an isGone() error after the handler has seen it.
  virtual absl::Status watch(const Resource& resource, std::string_view namespace_name,
                             const WatchOptions& options, const WatchHandler& handler) = 0;
  // TokenRequest for a ServiceAccount. Empty `audiences` = the API server's.
  virtual absl::StatusOr<ServiceAccountToken> requestToken(
      std::string_view namespace_name, std::string_view service_account,
      const std::vector<std::string>& audiences, std::chrono::seconds expiration) = 0;
};

using KubeClientPtr = std::unique_ptr<KubeClient>;

// Every page of a list, following continue tokens (a 410 on a continue token restarts the list
// once without it). The returned resource_version is the last page's.
absl::StatusOr<ObjectList> listAll(KubeClient& client, const Resource& resource,
                                   std::string_view namespace_name, ListOptions options);

}  // namespace secretsync::kube
