#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "pkg/store/store_client.h"
#include "pkg/store/vault/auth.h"
#include "pkg/store/vault/kv_response.h"
#include "pkg/store/vault/vault_transport.h"

namespace secretsync::store::vault {

enum class KvVersion {
  // Ask the server with the CLI's preflight (sys/internal/ui/mounts/<path>).
  kAuto,
  kV1,
  kV2,
};

struct VaultKvClientOptions {
  // StoreClient::identity(): server, namespace and credential identity, no secret in it.
  std::string identity;
  KvVersion kv_version = KvVersion::kAuto;
  // The mount ("secret", "team/kv"), when the store spec names it (ESO's `path`). Used only with a
  // fixed kv_version: then no preflight is made and every path must start with it. Empty, or with
  // kAuto, the preflight finds the mount.
  std::string mount;
  // Bounds of a recursive list, so a runaway or hostile tree fails with kResourceExhausted instead
  // of issuing unbounded requests: keys seen (leaves and folders) and folder depth.
  size_t max_list_keys = 10'000;
  int max_list_depth = 32;
};

// StoreClient over Vault's KV v1 and v2 engines (also OpenBao and Stronghold).
//
// Paths are as users write them, mount included ("team/kv/app/db"). The client finds the mount
// and its KV version with the preflight (cached per mount), then inserts `data/` (reads) or
// `metadata/` (metadata, list) after the mount for KV v2. A token Vault reports as invalid is
// handed back to the TokenProvider and the call retried once with a fresh one.
//
// Thread-safety: all methods may be called from many threads at once (the mount cache is guarded
// by a mutex; the transport and token provider are thread-safe by contract). The transport and
// the token provider must outlive the client.
class VaultKvClient final : public StoreClient {
 public:
  VaultKvClient(VaultTransport& transport, TokenProvider& tokens, VaultKvClientOptions options);

  absl::StatusOr<Secret> read(const SecretRef& ref) override;
  absl::StatusOr<SecretMetadata> readMetadata(std::string_view path) override;
  absl::StatusOr<std::vector<std::string>> list(std::string_view path, bool recursive) override;
  absl::Status validate() override { return tokens_.token().status(); }
  // The token provider owns the token; VaultStore, which owns both, answers for it.
  std::optional<std::chrono::seconds> credentialsTtl() const override { return std::nullopt; }
  const std::string& identity() const override { return options_.identity; }

  // `api_path` as Vault's HTTP API names a KV secret (vault-csi-provider's secretPath:
  // "secret/data/app/db" on KV v2) as the path read() takes: on a KV v2 mount the `data/` right
  // after the mount is dropped (a path without it is taken as written for read()); on KV v1 the
  // two are the same, so a KV v1 key under a folder named `data` stays readable. Finds the mount
  // as read() does (cached). Errors: as read()'s for an invalid path or a failed mount lookup.
  absl::StatusOr<std::string> pathFromApiPath(const std::string& api_path);

 private:
  // Where a path lives: its mount ("team/kv/", or "" when unknown on KV v1) and KV version.
  struct Mount {
    std::string path;
    int kv_version = 1;
  };

  // @return the mount of `path` (already validated), from the cache or the preflight.
  absl::StatusOr<Mount> mountFor(const std::string& path);
  // @return the mount as the server reports it; not cached.
  absl::StatusOr<Mount> preflight(const std::string& path);
  // Sends `call` with a token; on a reply that says the token is invalid, invalidates it and
  // sends the call once more with a fresh token.
  absl::StatusOr<VaultReply> callWithToken(VaultCall call);
  // Lists one folder (its Vault API path); a 404 is an empty folder.
  absl::StatusOr<std::vector<std::string>> listFolder(const std::string& api_path,
                                                      const std::string& path_template,
                                                      std::string_view what);

  VaultTransport& transport_;
  TokenProvider& tokens_;
  const VaultKvClientOptions options_;
  // options_.mount with one trailing "/", or "".
  const std::string fixed_mount_;

  std::mutex mu_;
  // Mounts the preflight reported, keyed by mount path ("team/kv/").
  std::vector<Mount> mounts_ ABSL_GUARDED_BY(mu_);
  // The server has no preflight endpoint (404): every path is KV v1, as the CLI assumes.
  bool preflight_unsupported_ ABSL_GUARDED_BY(mu_) = false;
};

// Checks a user path for the client: not empty, no leading "/", no empty, "." or ".." segments,
// no control characters. A single trailing "/" is allowed when `allow_trailing_slash`.
// @return kInvalidArgument naming the path.
absl::Status validateSecretPath(std::string_view path, bool allow_trailing_slash);

}  // namespace secretsync::store::vault
