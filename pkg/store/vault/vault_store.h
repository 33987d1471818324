#pragma once

#include <memory>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "pkg/common/http/http_client.h"
#include "pkg/common/http/tls_options.h"
#include "pkg/store/store_client.h"
#include "pkg/store/vault/authenticators.h"
#include "pkg/store/vault/http_vault_transport.h"
#include "pkg/store/vault/token_manager.h"
#include "pkg/store/vault/vault_kv_client.h"

namespace secretsync::store::vault {

using AuthConfig =
    std::variant<TokenAuthConfig, KubernetesAuthConfig, AppRoleAuthConfig, JwtAuthConfig>;

// Everything that defines one Vault identity: server, namespace, TLS, KV layout and credentials.
// ESO's SecretStore Vault provider, vault-csi-provider's parameters and a SecretsStoreImport all
// compile to this.
struct VaultStoreConfig {
  // "https://vault.example:8200". Required.
  std::string address;
  // Vault Enterprise / OpenBao namespace; empty for none.
  std::string vault_namespace;
  common::http::TlsOptions tls;
  KvVersion kv_version = KvVersion::kAuto;
  // The KV mount when the spec names it (ESO's `path`); see VaultKvClientOptions::mount.
  std::string mount;
  AuthConfig auth;
  // Retry and timeout settings; `address` and `vault_namespace` above take precedence over the
  // ones in here.
  HttpVaultTransportOptions transport;
  TokenManagerOptions tokens;
};

// A StoreClient for one Vault identity, assembled from its parts: HTTP client (owned, or shared
// between identities of one server so their connections are reused), transport with retries,
// TokenManager, and the KV client.
//
// Thread-safety: as StoreClient: all methods may be called from many threads at once.
class VaultStore final : public StoreClient {
 public:
  // Builds the store. Validates the configuration (kInvalidArgument naming the field: an empty or
  // non-http(s) address, incomplete auth, unreadable TLS files); makes no request yet.
  // @param shared_http used instead of an own client when not null; must outlive the store.
  static absl::StatusOr<std::unique_ptr<VaultStore>> create(
      VaultStoreConfig config, common::Clock& clock,
      common::http::HttpClient* shared_http = nullptr);

  // StoreClient
  absl::StatusOr<Secret> read(const SecretRef& ref) override { return kv_->read(ref); }
  absl::StatusOr<SecretMetadata> readMetadata(std::string_view path) override {
    return kv_->readMetadata(path);
  }
  absl::StatusOr<std::vector<std::string>> list(std::string_view path, bool recursive) override {
    return kv_->list(path, recursive);
  }
  absl::Status validate() override { return kv_->validate(); }
  std::optional<std::chrono::seconds> credentialsTtl() const override {
    return tokens_->remainingTtl();
  }
  const std::string& identity() const override { return kv_->identity(); }

  // See VaultKvClient::pathFromApiPath.
  absl::StatusOr<std::string> pathFromApiPath(const std::string& api_path) {
    return kv_->pathFromApiPath(api_path);
  }

  TokenManager& tokens() { return *tokens_; }

 private:
  VaultStore() = default;

  // Declared in dependency order: each part uses those above it, and members are destroyed
  // bottom-up.
  common::http::HttpClientPtr owned_http_;
  std::unique_ptr<HttpVaultTransport> transport_;
  std::unique_ptr<TokenManager> tokens_;
  std::unique_ptr<VaultKvClient> kv_;
};

}  // namespace secretsync::store::vault
