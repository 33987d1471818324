#include "pkg/store/vault/vault_store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/status_macros.h"

namespace secretsync::store::vault {
namespace {

absl::StatusOr<AuthenticatorPtr> makeAuthenticator(AuthConfig auth) {
  return std::visit(
      [](auto&& config) -> absl::StatusOr<AuthenticatorPtr> {
        using Config = std::decay_t<decltype(config)>;
        if constexpr (std::is_same_v<Config, TokenAuthConfig>) {
          return makeTokenAuthenticator(std::move(config));
        } else if constexpr (std::is_same_v<Config, KubernetesAuthConfig>) {
          return makeKubernetesAuthenticator(std::move(config));
        } else if constexpr (std::is_same_v<Config, AppRoleAuthConfig>) {
          return makeAppRoleAuthenticator(std::move(config));
        } else {
          return makeJwtAuthenticator(std::move(config));
        }
      },
      std::move(auth));
}

}  // namespace

absl::StatusOr<std::unique_ptr<VaultStore>> VaultStore::create(
    VaultStoreConfig config, common::Clock& clock, common::http::HttpClient* shared_http) {
  if (!absl::StartsWith(config.address, "http://") &&
      !absl::StartsWith(config.address, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("vault server \"", config.address, "\": must be an http:// or https:// URL"));
  }
  ASSIGN_OR_RETURN(AuthenticatorPtr authenticator, makeAuthenticator(std::move(config.auth)));

  auto store = std::unique_ptr<VaultStore>(new VaultStore());
  common::http::HttpClient* http = shared_http;
  if (http == nullptr) {
    common::http::CurlHttpClientOptions http_options;
    http_options.tls = config.tls;
    http_options.request_timeout = config.transport.request_timeout;
    ASSIGN_OR_RETURN(store->owned_http_, common::http::newCurlHttpClient(http_options));
    http = store->owned_http_.get();
  }

  HttpVaultTransportOptions transport_options = std::move(config.transport);
  transport_options.address = config.address;
  transport_options.vault_namespace = config.vault_namespace;
  store->transport_ =
      std::make_unique<HttpVaultTransport>(*http, clock, std::move(transport_options));

  // Server and namespace are part of who we are: the same role on two servers may read different
  // things.
  std::string identity =
      absl::StrCat(config.address, "|", config.vault_namespace, "|", authenticator->identity());
  store->tokens_ = std::make_unique<TokenManager>(*store->transport_, std::move(authenticator),
                                                  clock, config.tokens);
  VaultKvClientOptions kv_options;
  kv_options.identity = std::move(identity);
  kv_options.kv_version = config.kv_version;
  kv_options.mount = std::move(config.mount);
  store->kv_ =
      std::make_unique<VaultKvClient>(*store->transport_, *store->tokens_, std::move(kv_options));
  return store;
}

}  // namespace secretsync::store::vault
