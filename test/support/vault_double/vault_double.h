#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "test/support/http_server.h"
#include "test/support/vault_double/auth_approle.h"
#include "test/support/vault_double/auth_jwt.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/envelope.h"
#include "test/support/vault_double/faults.h"
#include "test/support/vault_double/kv_engine.h"
#include "test/support/vault_double/policy.h"
#include "test/support/vault_double/token_store.h"

namespace secretsync::test {

struct VaultDoubleOptions {
  // Where to listen; port 0 picks a free one.
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // Set: serve HTTPS.
  std::optional<TlsServerConfig> tls;
  // Time source for token expiry, JWT checks and timestamps; null means the real clock.
  // Must outlive the double.
  common::Clock* clock = nullptr;
  // A root token that never expires (policy "root"). Empty: none.
  std::string root_token = "root";
  // Mount "secret/" as KV v2, as a dev server does.
  bool mount_default_secret = true;
  vault::WireSettings wire;
  // Reported by sys/health and sys/seal-status.
  std::string version = "1.17.6";
};

// Per-key metadata settings (POST metadata/<path>).
struct KvKeySettings {
  int64_t max_versions = 0;
  bool cas_required = false;
  std::chrono::seconds delete_version_after{0};
};

// An in-process double of the Vault HTTP API (KV v1/v2, tokens, ACL policies, Kubernetes,
// AppRole and JWT auth, sys/health, seal-status, preflight, mounts, policies), faithful to
// shared/reference/vault-http-api.md §9: same JSON shapes, status codes, headers and messages.
// Fault rules, a sealed switch and request counters let tests drive failure paths.
//
// Namespaces (X-Vault-Namespace) are modelled simply: each namespace has its own mounts;
// tokens, policies and auth methods are shared, and ACL paths are namespace-prefixed
// ("team-a/secret/data/x"), as for policies written in the root namespace.
//
// Thread-safety: all methods are thread-safe. One mutex guards all state; HTTP requests are
// served concurrently on the server's threads and serialised on it. A Kubernetes TokenReviewer
// callback runs without the lock held.
class VaultDouble {
 public:
  static absl::StatusOr<std::unique_ptr<VaultDouble>> start(VaultDoubleOptions options = {});
  ~VaultDouble();
  VaultDouble(const VaultDouble&) = delete;
  VaultDouble& operator=(const VaultDouble&) = delete;

  // "http://127.0.0.1:PORT" (or https).
  std::string baseUrl() const;
  uint16_t port() const;
  HttpServer& httpServer() { return *server_; }
  const std::string& rootToken() const { return options_.root_token; }

  // --- Namespaces and mounts -------------------------------------------------------------
  void createNamespace(const std::string& ns);
  // Mounts a KV engine (version 1 or 2) at `path` ("secret", "team/kv"), creating the
  // namespace when needed. Fails if the path overlaps an existing mount.
  absl::Status mountKv(const std::string& path, int version = 2, const std::string& ns = "");
  absl::Status unmount(const std::string& path, const std::string& ns = "");

  // --- KV seeding and inspection ---------------------------------------------------------
  // Writes a secret. @return the new version (KV v2) or 0 (KV v1).
  absl::StatusOr<int64_t> putSecret(const std::string& mount, const std::string& path,
                                    const nlohmann::json& data, const std::string& ns = "");
  absl::Status deleteVersions(const std::string& mount, const std::string& path,
                              const std::vector<int64_t>& versions, const std::string& ns = "");
  absl::Status undeleteVersions(const std::string& mount, const std::string& path,
                                const std::vector<int64_t>& versions, const std::string& ns = "");
  absl::Status destroyVersions(const std::string& mount, const std::string& path,
                               const std::vector<int64_t>& versions, const std::string& ns = "");
  absl::Status setCustomMetadata(const std::string& mount, const std::string& path,
                                 const std::map<std::string, std::string>& custom_metadata,
                                 const std::string& ns = "");
  absl::Status setKeySettings(const std::string& mount, const std::string& path,
                              const KvKeySettings& settings, const std::string& ns = "");
  // The mount-wide `config` of a KV v2 mount.
  absl::Status setKvConfig(const std::string& mount, const KvKeySettings& settings,
                           const std::string& ns = "");
  // @return the data of a live version (0 = current), or nullopt if missing/deleted/destroyed.
  std::optional<nlohmann::json> readSecret(const std::string& mount, const std::string& path,
                                           int64_t version = 0, const std::string& ns = "");

  // --- Tokens and policies ---------------------------------------------------------------
  std::string createToken(const std::vector<std::string>& policies,
                          std::chrono::seconds ttl = std::chrono::seconds(0),
                          std::chrono::seconds max_ttl = std::chrono::seconds(0),
                          bool renewable = true);
  std::string createTokenWithSpec(const vault::TokenSpec& spec);
  bool revokeToken(const std::string& id);
  // @return whether the token exists and has not expired.
  bool tokenValid(const std::string& id);
  // @return seconds left, if the token is valid.
  std::optional<int64_t> tokenTtl(const std::string& id);
  void putPolicy(const std::string& name, std::vector<vault::PathRule> rules);
  absl::Status putPolicyHcl(const std::string& name, const std::string& hcl);
  void deletePolicy(const std::string& name);

  // --- Auth methods ----------------------------------------------------------------------
  // Enables (or reconfigures) Kubernetes auth at auth/<mount>.
  void enableKubernetesAuth(const std::string& mount, vault::KubernetesAuthConfig config);
  void setTokenReviewer(const std::string& mount, vault::TokenReviewer reviewer);
  // Adds or replaces a role; enables the mount (no key) when needed.
  absl::Status addKubernetesRole(const std::string& mount, vault::KubernetesRole role);
  absl::Status addAppRole(vault::AppRole role, const std::string& mount = "approle");
  void enableJwtAuth(const std::string& mount, vault::JwtAuthConfig config);
  absl::Status addJwtRole(const std::string& mount, vault::JwtRole role);

  // --- Server state and wire form --------------------------------------------------------
  void setSealed(bool sealed);
  bool sealed() const;
  // A standby answers sys/health with 429 (unless standbyok).
  void setStandby(bool standby);
  void setWireSettings(const vault::WireSettings& settings);
  vault::WireSettings wireSettings() const;

  // --- Faults ----------------------------------------------------------------------------
  uint64_t addFault(vault::FaultRule rule);
  void removeFault(uint64_t id);
  void clearFaults();
  // @return how often fault `id` fired (0 once removed).
  uint64_t faultHits(uint64_t id) const;

  // --- Counters --------------------------------------------------------------------------
  // All requests received (faulted ones included).
  uint64_t requestCount() const;
  // Requests by method as sent ("GET", "LIST") and path after /v1/ without the query
  // ("secret/data/app").
  uint64_t requestCount(const std::string& method, const std::string& path) const;
  // Login attempts at auth/<mount>/login, successful or not.
  uint64_t loginCount(const std::string& mount) const;
  // Tokens issued by logins at auth/<mount>/login.
  uint64_t loginSuccessCount(const std::string& mount) const;
  void resetCounters();
  // @return the most recent request received, if any.
  std::optional<HttpServerRequest> lastRequest() const;

 private:
  struct MountEntry {
    std::string path;  // no trailing slash
    std::string accessor;
    std::string uuid;
    std::unique_ptr<vault::KvEngine> engine;
  };
  struct Namespace {
    std::map<std::string, MountEntry> mounts;
  };
  struct KubernetesMount {
    vault::KubernetesAuthConfig config;
    std::map<std::string, vault::KubernetesRole> roles;
  };
  struct JwtMount {
    vault::JwtAuthConfig config;
    std::vector<vault::JwtRole> roles;
  };

  explicit VaultDouble(VaultDoubleOptions options);

  HttpServerResponse handle(const HttpServerRequest& request);
  HttpServerResponse route(const HttpServerRequest& request, const std::string& path);
  HttpServerResponse health(const HttpServerRequest& request, const std::string& ns);
  HttpServerResponse sealStatus(const HttpServerRequest& request);
  HttpServerResponse login(std::unique_lock<std::mutex>& lock, const std::string& mount,
                           const nlohmann::json& body);
  HttpServerResponse tokenEndpoint(const std::string& path, vault::Operation op,
                                   const nlohmann::json& fields, vault::Token& token,
                                   const vault::Acl& acl);
  HttpServerResponse sysEndpoint(const std::string& path, vault::Operation op,
                                 const nlohmann::json& fields, const std::string& ns,
                                 const vault::Acl& acl, bool* handled);
  HttpServerResponse preflight(const std::string& path, const std::string& ns,
                               const vault::Acl& acl);

  absl::Status mountLocked(const std::string& ns, const std::string& path, int version);
  vault::Acl aclFor(const vault::Token& token) const;
  // Longest mount whose path is `path` or a prefix of it at a '/'. Sets *rel.
  MountEntry* findMount(const std::string& ns, const std::string& path, std::string* rel);
  MountEntry* exactMount(const std::string& ns, const std::string& mount);
  vault::KvV2Engine* v2(const std::string& ns, const std::string& mount, absl::Status* status);
  nlohmann::json mountInfo(const std::string& ns, const MountEntry& m) const;

  VaultDoubleOptions options_;
  common::Clock& clock_;
  std::string cluster_id_;

  mutable std::mutex mu_;
  vault::WireSettings wire_;
  bool sealed_ = false;
  bool standby_ = false;
  std::map<std::string, Namespace> namespaces_;  // "" is the root namespace
  vault::TokenStore tokens_;
  std::map<std::string, vault::Policy> policies_;
  std::map<std::string, KubernetesMount> kubernetes_;
  std::map<std::string, std::vector<vault::AppRole>> approle_;
  std::map<std::string, JwtMount> jwt_;
  vault::FaultInjector faults_;
  uint64_t total_requests_ = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;
  std::map<std::string, uint64_t> logins_;
  std::map<std::string, uint64_t> login_successes_;
  std::optional<HttpServerRequest> last_request_;

  // Last member: stopped (threads joined) before the state above is destroyed.
  std::unique_ptr<HttpServer> server_;
};

}  // namespace secretsync::test
