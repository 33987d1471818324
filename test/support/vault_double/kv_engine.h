#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "test/support/http_server.h"
#include "test/support/vault_double/envelope.h"

namespace secretsync::test::vault {

// The logical operation a request maps to (§0.1).
enum class Operation { kRead, kList, kWrite, kPatch, kDelete };

// One request as a KV engine sees it: the path relative to the mount (list paths end in '/'),
// and the fields (query parameters for GET/DELETE/LIST, the JSON body for writes).
struct KvRequest {
  Operation op = Operation::kRead;
  std::string rel;
  nlohmann::json fields = nlohmann::json::object();
};

// Per-call context an engine needs to build replies.
struct KvContext {
  const WireSettings& wire;
  common::SystemTime now;
};

// A secrets engine mounted at some path. Engines are plain data structures.
//
// Thread-safety: not thread-safe; VaultDouble calls engines under its mutex.
class KvEngine {
 public:
  virtual ~KvEngine() = default;
  virtual int version() const = 0;
  // Serves one request (after ACL checks).
  virtual HttpServerResponse handle(const KvRequest& request, const KvContext& ctx) = 0;
  // The existence check that decides `create` versus `update` for a write.
  virtual bool exists(const std::string& rel) const = 0;
};

// One version of a KV v2 key.
struct KvVersion {
  nlohmann::json data;  // null once destroyed
  common::SystemTime created_time;
  std::optional<common::SystemTime> deletion_time;
  bool destroyed = false;
};

// The metadata entry of a KV v2 key.
struct KvKey {
  std::map<int64_t, KvVersion> versions;
  int64_t current_version = 0;
  int64_t oldest_version = 0;
  int64_t max_versions = 0;
  bool cas_required = false;
  std::chrono::seconds delete_version_after{0};
  std::optional<std::map<std::string, std::string>> custom_metadata;
  common::SystemTime created_time;
  common::SystemTime updated_time;
};

// KV version 2 (§1), faithful to vault-plugin-secrets-kv's status codes, bodies and messages.
class KvV2Engine : public KvEngine {
 public:
  int version() const override { return 2; }
  HttpServerResponse handle(const KvRequest& request, const KvContext& ctx) override;
  bool exists(const std::string& rel) const override;

  // Seeding (the same rules as the HTTP API). @return the new version.
  absl::StatusOr<int64_t> put(const std::string& path, const nlohmann::json& data,
                              std::optional<int64_t> cas, common::SystemTime now);
  absl::Status deleteVersions(const std::string& path, const std::vector<int64_t>& versions,
                              common::SystemTime now);
  absl::Status undeleteVersions(const std::string& path, const std::vector<int64_t>& versions,
                                common::SystemTime now);
  absl::Status destroyVersions(const std::string& path, const std::vector<int64_t>& versions);
  // Creates the metadata entry when missing.
  KvKey& keyMetadata(const std::string& path, common::SystemTime now);
  const KvKey* findKey(const std::string& path) const;
  void removeKey(const std::string& path) { keys_.erase(path); }

  // Mount-wide config (`config` endpoint).
  int64_t max_versions = 0;
  bool cas_required = false;
  std::chrono::seconds delete_version_after{0};

 private:
  int64_t effectiveMaxVersions(const KvKey& key) const;
  std::chrono::seconds effectiveDeleteAfter(const KvKey& key) const;
  nlohmann::json versionMetadata(const KvKey& key, int64_t version, bool flat_data) const;

  HttpServerResponse readData(const std::string& path, const KvRequest& req, const KvContext& ctx);
  HttpServerResponse writeData(const std::string& path, const KvRequest& req, const KvContext& ctx);
  HttpServerResponse patchData(const std::string& path, const KvRequest& req, const KvContext& ctx);
  HttpServerResponse deleteData(const std::string& path, const KvContext& ctx);
  HttpServerResponse versionsOp(const std::string& what, const std::string& path,
                                const KvRequest& req, const KvContext& ctx);
  HttpServerResponse readMetadata(const std::string& path, const KvContext& ctx);
  HttpServerResponse writeMetadata(const std::string& path, const KvRequest& req,
                                   const KvContext& ctx, bool patch);
  HttpServerResponse listMetadata(const std::string& prefix, const KvRequest& req,
                                  const KvContext& ctx);
  HttpServerResponse readSubkeys(const std::string& path, const KvRequest& req,
                                 const KvContext& ctx);
  HttpServerResponse config(const KvRequest& req, const KvContext& ctx);
  HttpServerResponse commonWrite(const std::string& path, const nlohmann::json& data,
                                 const nlohmann::json& fields, const KvContext& ctx);

  std::map<std::string, KvKey> keys_;
};

// KV version 1 (§1.12): flat data, a lease_duration hint, LIST on folders.
class KvV1Engine : public KvEngine {
 public:
  int version() const override { return 1; }
  HttpServerResponse handle(const KvRequest& request, const KvContext& ctx) override;
  bool exists(const std::string& rel) const override { return entries_.count(rel) > 0; }

  void put(const std::string& path, const nlohmann::json& data) { entries_[path] = data; }
  std::optional<nlohmann::json> get(const std::string& path) const;

  // The mount's default lease TTL, reported as lease_duration.
  std::chrono::seconds default_lease_ttl{2764800};

 private:
  std::map<std::string, nlohmann::json> entries_;
};

// The KV v2 warning for a path outside data/, metadata/ etc. `verb`: get, put, patch, list,
// delete.
std::string invalidKvV2PathWarning(const std::string& verb);

}  // namespace secretsync::test::vault
