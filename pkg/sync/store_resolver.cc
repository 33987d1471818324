#include "pkg/sync/store_resolver.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/status_macros.h"
#include "pkg/store/vault/jwt_source.h"

namespace secretsync::sync {
namespace {

using common::av;
namespace vault = store::vault;

std::string storeName(const api::SecretStore& store) {
  return absl::StrCat(av(api::storeKindName(store.kind)), " \"",
                      store.metadata.namespace_name.empty()
                          ? store.metadata.name
                          : absl::StrCat(store.metadata.namespace_name, "/", store.metadata.name),
                      "\"");
}

std::string refText(const api::ObjectKeyRef& ref) {
  return absl::StrCat(ref.namespace_name, "/", ref.name, "#", ref.key);
}

// Prefixes a status with the store it is about, keeping its code.
absl::Status inStore(const api::SecretStore& store, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(storeName(store), ": ", status.message()));
}

std::string cacheKey(api::StoreKind kind, std::string_view store_namespace, std::string_view name,
                     std::string_view es_namespace) {
  return absl::StrCat(av(api::storeKindName(kind)), "/", av(store_namespace), "/", av(name), "/",
                      av(es_namespace));
}

}  // namespace

StoreResolver::StoreResolver(CredentialSource& credentials, common::Clock& clock,
                             StoreResolverOptions options)
    : credentials_(credentials),
      clock_(clock),
      options_(std::move(options)),
      http_clients_({.request_timeout = options_.transport.request_timeout}) {}

absl::StatusOr<vault::AuthConfig> StoreResolver::authFor(const api::CompiledVaultStore& compiled,
                                                         std::string& fingerprint) {
  const api::VaultCredentialPlan& plan = compiled.credentials;
  // Reads one Secret key and records which value it was (a keyed hash, never the value).
  auto secret = [&](const api::ObjectKeyRef& ref) -> absl::StatusOr<common::SecretString> {
    ASSIGN_OR_RETURN(common::SecretString value, credentials_.secretValue(ref));
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("Secret \"", ref.namespace_name, "/", ref.name,
                                                     "\" key \"", ref.key, "\" is empty"));
    }
    absl::StrAppend(&fingerprint, "|", refText(ref), "=", vault::keyedFingerprint(value.reveal()));
    return value;
  };
  // The JWT of kubernetes/jwt auth: a Secret key, a TokenRequest made at login, or a file.
  auto jwt = [&]() -> absl::StatusOr<vault::JwtSourcePtr> {
    if (plan.jwt_secret.has_value()) {
      ASSIGN_OR_RETURN(common::SecretString value, secret(*plan.jwt_secret));
      // No label: the identity then carries a keyed hash of the JWT, so a new JWT in the Secret
      // is a new identity and never shares cached reads with the old one.
      return vault::makeStaticJwtSource(std::move(value));
    }
    if (plan.token_request.has_value()) {
      const api::TokenRequestSpec spec = *plan.token_request;
      const std::string principal =
          absl::StrCat("serviceaccount:", spec.namespace_name, "/", spec.service_account, ":",
                       absl::StrJoin(spec.audiences, ","), ":", spec.expiration_seconds);
      absl::StrAppend(&fingerprint, "|", principal);
      CredentialSource* source = &credentials_;
      return vault::makeCallbackJwtSource([source, spec] { return source->requestToken(spec); },
                                          principal);
    }
    absl::StrAppend(&fingerprint, "|file:", options_.own_service_account_token_file);
    return vault::makeFileJwtSource(options_.own_service_account_token_file);
  };

  switch (plan.method) {
    case api::VaultCredentialPlan::Method::kToken: {
      absl::StrAppend(&fingerprint, "|token");
      auto token = secret(*plan.token_secret);
      if (!token.ok() && token.status().code() == absl::StatusCode::kNotFound &&
          options_.fallback_token.has_value()) {
        absl::StrAppend(&fingerprint,
                        "|fallback=", vault::keyedFingerprint(options_.fallback_token->reveal()));
        return vault::TokenAuthConfig{*options_.fallback_token};
      }
      if (!token.ok()) {
        return token.status();
      }
      return vault::TokenAuthConfig{*std::move(token)};
    }
    case api::VaultCredentialPlan::Method::kKubernetes: {
      absl::StrAppend(&fingerprint, "|kubernetes:", plan.mount, ":", plan.role);
      ASSIGN_OR_RETURN(vault::JwtSourcePtr source, jwt());
      return vault::KubernetesAuthConfig{plan.mount, plan.role, std::move(source)};
    }
    case api::VaultCredentialPlan::Method::kJwt: {
      absl::StrAppend(&fingerprint, "|jwt:", plan.mount, ":", plan.role);
      ASSIGN_OR_RETURN(vault::JwtSourcePtr source, jwt());
      return vault::JwtAuthConfig{plan.mount, plan.role, std::move(source)};
    }
    case api::VaultCredentialPlan::Method::kAppRole: {
      absl::StrAppend(&fingerprint, "|approle:", plan.mount);
      std::string role_id = plan.role_id;
      if (plan.role_id_secret.has_value()) {
        ASSIGN_OR_RETURN(common::SecretString value, secret(*plan.role_id_secret));
        role_id = value.reveal();  // a role_id is an identifier, not a credential
      }
      absl::StrAppend(&fingerprint, ":", role_id);
      ASSIGN_OR_RETURN(common::SecretString secret_id, secret(*plan.secret_id_secret));
      return vault::AppRoleAuthConfig{plan.mount, std::move(role_id), std::move(secret_id)};
    }
  }
  return absl::InvalidArgumentError("unknown auth method");
}

absl::StatusOr<ResolvedStore> StoreResolver::resolve(
    const api::SecretStore& store, std::string_view es_namespace,
    const std::map<std::string, std::string>& namespace_labels) {
  if (store.kind == api::StoreKind::kClusterSecretStore &&
      !api::namespaceAllowed(store, std::string(es_namespace), namespace_labels)) {
    return absl::FailedPreconditionError(absl::StrCat(
        storeName(store), ": its conditions do not allow namespace \"", av(es_namespace), "\""));
  }
  auto compiled = api::compileVaultStore(store, es_namespace);
  if (!compiled.ok()) {
    return absl::Status(compiled.status().code(), compiled.status().message());
  }
  vault::VaultStoreConfig& config = compiled->config;
  // Everything that makes two clients differ, credential values as keyed hashes.
  std::string fingerprint = absl::StrCat(config.address, "|", config.vault_namespace, "|",
                                         config.mount, "|", static_cast<int>(config.kv_version),
                                         "|", vault::keyedFingerprint(config.tls.ca_pem));
  if (compiled->ca_secret.has_value()) {
    auto ca = credentials_.secretValue(*compiled->ca_secret);
    if (!ca.ok()) {
      return inStore(store, ca.status());
    }
    config.tls.ca_pem += ca->reveal();
    absl::StrAppend(&fingerprint, "|ca-secret=", vault::keyedFingerprint(ca->reveal()));
  }
  if (compiled->ca_config_map.has_value()) {
    auto ca = credentials_.configMapValue(*compiled->ca_config_map);
    if (!ca.ok()) {
      return inStore(store, ca.status());
    }
    config.tls.ca_pem += *ca;
    absl::StrAppend(&fingerprint, "|ca-configmap=", vault::keyedFingerprint(*ca));
  }
  auto auth = authFor(*compiled, fingerprint);
  if (!auth.ok()) {
    return inStore(store, auth.status());
  }

  const std::string key =
      cacheKey(store.kind, store.metadata.namespace_name, store.metadata.name, es_namespace);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = cache_.find(key); it != cache_.end() && it->second.fingerprint == fingerprint) {
    return it->second.resolved;
  }
  ResolvedStore resolved;
  resolved.mount = config.mount;
  resolved.kv_version = store.spec.vault->version;
  config.auth = *std::move(auth);
  config.transport = options_.transport;
  config.tokens = options_.tokens;
  ASSIGN_OR_RETURN(std::shared_ptr<common::http::HttpClient> http,
                   http_clients_.clientFor(config.tls));
  auto vault_store = vault::VaultStore::create(std::move(config), clock_, http.get());
  if (!vault_store.ok()) {
    return inStore(store, vault_store.status());
  }
  // The store keeps a raw pointer to its HTTP client: hold both in one block, the store
  // destroyed first (members go in reverse order).
  struct Holder {
    std::shared_ptr<common::http::HttpClient> http;
    std::unique_ptr<vault::VaultStore> store;
  };
  auto holder = std::make_shared<Holder>(Holder{std::move(http), *std::move(vault_store)});
  resolved.client = std::shared_ptr<store::StoreClient>(holder, holder->store.get());
  cache_.insert_or_assign(key, Entry{std::move(fingerprint), resolved});
  return resolved;
}

void StoreResolver::forget(api::StoreKind kind, std::string_view store_namespace,
                           std::string_view name) {
  const std::string prefix = cacheKey(kind, store_namespace, name, "");
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = cache_.lower_bound(prefix);
       it != cache_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    it = cache_.erase(it);
  }
}

size_t StoreResolver::cachedClients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

}  // namespace secretsync::sync
