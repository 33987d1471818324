#include "pkg/api/vault_provider.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"

namespace secretsync::api {
namespace {

using common::av;

std::string resolveNamespace(const SecretStore& store, std::string_view es_namespace,
                             const std::string& ref_namespace) {
  if (store.kind == StoreKind::kClusterSecretStore) {
    return ref_namespace.empty() ? std::string(es_namespace) : ref_namespace;
  }
  return store.metadata.namespace_name.empty() ? std::string(es_namespace)
                                               : store.metadata.namespace_name;
}

ObjectKeyRef keyRef(const SecretStore& store, std::string_view es_namespace,
                    const SecretKeySelector& sel) {
  return {resolveNamespace(store, es_namespace, sel.namespace_name), sel.name, sel.key};
}

TokenRequestSpec tokenRequest(const SecretStore& store, std::string_view es_namespace,
                              const ServiceAccountSelector& sa) {
  TokenRequestSpec spec;
  spec.namespace_name = resolveNamespace(store, es_namespace, sa.namespace_name);
  spec.service_account = sa.name;
  spec.audiences = sa.audiences;
  return spec;
}

}  // namespace

std::string vaultMountFromPath(std::string_view path, VaultKvVersion version) {
  while (!path.empty() && path.front() == '/') {
    path.remove_prefix(1);
  }
  while (!path.empty() && path.back() == '/') {
    path.remove_suffix(1);
  }
  if (version == VaultKvVersion::kV2 && absl::EndsWith(av(path), "/data")) {
    path.remove_suffix(5);
  }
  return std::string(path);
}

std::string vaultSecretPath(std::string_view mount, std::string_view remote_key) {
  while (!remote_key.empty() && remote_key.front() == '/') {
    remote_key.remove_prefix(1);
  }
  if (mount.empty() || remote_key == mount ||
      (absl::StartsWith(av(remote_key), av(mount)) && remote_key.size() > mount.size() &&
       remote_key[mount.size()] == '/')) {
    return std::string(remote_key);
  }
  return absl::StrCat(av(mount), "/", av(remote_key));
}

absl::StatusOr<CompiledVaultStore> compileVaultStore(const SecretStore& store,
                                                     std::string_view es_namespace) {
  if (!store.spec.vault.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        av(storeKindName(store.kind)), " \"", store.metadata.name, "\" has no vault provider"));
  }
  if (store.kind == StoreKind::kSecretStore && !store.metadata.namespace_name.empty() &&
      store.metadata.namespace_name != es_namespace) {
    return absl::FailedPreconditionError(
        absl::StrCat("SecretStore \"", store.metadata.name, "\" is in namespace \"",
                     store.metadata.namespace_name, "\", not \"", av(es_namespace), "\""));
  }
  const VaultProvider& vault = *store.spec.vault;
  CompiledVaultStore out;
  out.config.address = vault.server;
  out.config.vault_namespace = vault.namespace_name;
  out.config.kv_version = vault.version == VaultKvVersion::kV1 ? store::vault::KvVersion::kV1
                                                               : store::vault::KvVersion::kV2;
  out.config.mount = vaultMountFromPath(vault.path, vault.version);
  out.config.tls.ca_pem = vault.ca_bundle_pem;
  out.read_your_writes = vault.read_your_writes;
  out.forward_inconsistent = vault.forward_inconsistent;
  if (vault.ca_provider.has_value()) {
    ObjectKeyRef ref{resolveNamespace(store, es_namespace, vault.ca_provider->namespace_name),
                     vault.ca_provider->name, vault.ca_provider->key};
    if (vault.ca_provider->type == CaProviderType::kSecret) {
      out.ca_secret = std::move(ref);
    } else {
      out.ca_config_map = std::move(ref);
    }
  }

  VaultCredentialPlan& plan = out.credentials;
  if (const auto* token = std::get_if<VaultTokenAuth>(&vault.auth)) {
    plan.method = VaultCredentialPlan::Method::kToken;
    plan.token_secret = keyRef(store, es_namespace, token->token_secret_ref);
  } else if (const auto* k8s = std::get_if<VaultKubernetesAuth>(&vault.auth)) {
    plan.method = VaultCredentialPlan::Method::kKubernetes;
    plan.mount = k8s->mount_path;
    plan.role = k8s->role;
    if (k8s->service_account_ref.has_value()) {
      plan.token_request = tokenRequest(store, es_namespace, *k8s->service_account_ref);
    } else if (k8s->secret_ref.has_value()) {
      plan.jwt_secret = keyRef(store, es_namespace, *k8s->secret_ref);
    } else {
      plan.use_own_service_account_token = true;
    }
  } else if (const auto* approle = std::get_if<VaultAppRoleAuth>(&vault.auth)) {
    plan.method = VaultCredentialPlan::Method::kAppRole;
    plan.mount = approle->path;
    plan.role_id = approle->role_id;
    if (approle->role_id.empty() && approle->role_ref.has_value()) {
      plan.role_id_secret = keyRef(store, es_namespace, *approle->role_ref);
    }
    plan.secret_id_secret = keyRef(store, es_namespace, approle->secret_ref);
  } else if (const auto* jwt = std::get_if<VaultJwtAuth>(&vault.auth)) {
    plan.method = VaultCredentialPlan::Method::kJwt;
    plan.mount = jwt->path;
    plan.role = jwt->role;
    if (jwt->secret_ref.has_value()) {
      plan.jwt_secret = keyRef(store, es_namespace, *jwt->secret_ref);
    } else if (jwt->kubernetes_service_account_token.has_value()) {
      const VaultJwtKubernetesSaToken& sat = *jwt->kubernetes_service_account_token;
      TokenRequestSpec spec = tokenRequest(store, es_namespace, sat.service_account_ref);
      // ESO: the deprecated `audiences` plus serviceAccountRef.audiences; "vault" when neither.
      spec.audiences = sat.audiences;
      spec.audiences.insert(spec.audiences.end(), sat.service_account_ref.audiences.begin(),
                            sat.service_account_ref.audiences.end());
      if (spec.audiences.empty()) {
        spec.audiences.push_back("vault");
      }
      spec.expiration_seconds = sat.expiration_seconds.value_or(600);
      plan.token_request = std::move(spec);
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(av(storeKindName(store.kind)), " \"",
                                                   store.metadata.name,
                                                   "\" has no supported Vault auth method"));
  }
  return out;
}

}  // namespace secretsync::api
