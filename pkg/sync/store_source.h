#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "pkg/api/external_secret.h"
#include "pkg/api/secret_store.h"
#include "pkg/store/store_client.h"

namespace secretsync::sync {

// A store as an ExternalSecret reads from it: the client, plus the KV layout the ExternalSecret's
// paths are written against (ESO's remoteRef.key is relative to the provider's `path`).
struct ResolvedStore {
  // Shared so a client stays valid for a build that is using it while the resolver replaces it
  // (the store spec or its credentials changed).
  std::shared_ptr<store::StoreClient> client;
  // The KV mount as api::vaultMountFromPath returns it ("secret", "team/kv"); "" when the
  // provider has no `path` (then keys carry their mount, as in ESO).
  std::string mount;
  api::VaultKvVersion kv_version = api::VaultKvVersion::kV2;
};

// Turns an ExternalSecret's store reference into a store. The controller implements it over the
// SecretStores it watches; `secretsync sync` over the SecretStores in its manifest files. Both
// hand the store to a StoreResolver (store_resolver.h) to get the client.
//
// Thread-safety: implementations must allow concurrent calls (one build per worker).
class StoreClientSource {
 public:
  virtual ~StoreClientSource() = default;

  // @param ref spec.secretStoreRef, or an entry's sourceRef.storeRef.
  // @param es_namespace the ExternalSecret's namespace (a SecretStore must be in it; a
  //   ClusterSecretStore resolves its credential refs to it and may refuse it by its conditions).
  // @return kNotFound when no such store exists (retryable: it may be created later),
  //   kFailedPrecondition when the store may not be used from `es_namespace`, kInvalidArgument
  //   for a store whose spec cannot be compiled (no Vault provider, bad auth), or the
  //   CredentialSource's error for credentials that cannot be read. Messages name the store
  //   ("SecretStore \"vault\"") and never contain a credential.
  virtual absl::StatusOr<ResolvedStore> storeFor(const api::StoreRef& ref,
                                                 std::string_view es_namespace) = 0;
};

}  // namespace secretsync::sync
