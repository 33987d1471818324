#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace secretsync::store {

// What to read: a secret path as users write it in ESO's remoteRef.key or vault-csi-provider's
// secretPath, mount included and without KV v2's `data/` ("secret/team/db"), and an optional
// pinned version (KV v2 only; nullopt = the current one).
struct SecretRef {
  std::string path;
  std::optional<int64_t> version;

  friend bool operator==(const SecretRef&, const SecretRef&) = default;
};

// Parses "path" or "path?version=N" (vault-csi-provider's secretPath syntax) into a SecretRef.
// @return kInvalidArgument naming the text for an empty path, another query parameter, or a
// version that is not a positive integer.
absl::StatusOr<SecretRef> parseSecretRef(std::string_view text);

// One secret as read. `data` is the KV payload: a JSON object whose values may be any JSON type.
// Never printed or logged; callers handle it as they would a password.
struct Secret {
  nlohmann::json data = nlohmann::json::object();
  // KV v2 version read; 0 for KV v1, which has no versions.
  int64_t version = 0;
  // KV v2 custom_metadata of the key (strings only); empty when never set or on KV v1.
  std::map<std::string, std::string> custom_metadata;
  // RFC 3339 creation time of the version read; empty on KV v1.
  std::string created_time;
};

// State of one KV v2 version as listed in the metadata.
struct VersionState {
  std::string created_time;
  std::string deletion_time;  // "" when not deleted
  bool destroyed = false;
};

// KV v2 key metadata (GET <mount>/metadata/<path>).
struct SecretMetadata {
  int64_t current_version = 0;
  int64_t oldest_version = 0;
  int64_t max_versions = 0;
  bool cas_required = false;
  std::string created_time;
  std::string updated_time;
  std::map<std::string, std::string> custom_metadata;
  std::map<int64_t, VersionState> versions;
};

// Why a read found nothing. Vault answers 404 in all three cases, but a deleted or destroyed
// version comes with metadata and no `errors`, and ESO users need to tell them apart.
enum class NotFoundReason { Missing, Deleted, Destroyed };

// Builds the kNotFound status a StoreClient returns, carrying `reason` as a payload.
absl::Status notFoundError(NotFoundReason reason, std::string_view message);
// @return the reason carried by a kNotFound status from a StoreClient, or nullopt for any other
// status (or a NotFound built elsewhere).
std::optional<NotFoundReason> notFoundReason(const absl::Status& status);

// Reads secrets from one store as one identity (server, namespace and credentials).
//
// Errors use canonical codes: kNotFound (see notFoundReason), kPermissionDenied, kUnauthenticated
// (the store refused our credentials), kUnavailable (store down, sealed, throttled: retry later),
// kDeadlineExceeded, kInvalidArgument (a bad path or version), kFailedPrecondition (TLS or mount
// misconfiguration), kDataLoss (a reply we cannot parse). Messages name the path, never a value.
//
// Thread-safety: all methods may be called from many threads at once.
class StoreClient {
 public:
  virtual ~StoreClient() = default;

  // Reads the secret at `ref`.
  virtual absl::StatusOr<Secret> read(const SecretRef& ref) = 0;

  // Reads the KV v2 metadata of `path` (kFailedPrecondition on a KV v1 mount).
  virtual absl::StatusOr<SecretMetadata> readMetadata(std::string_view path) = 0;

  // Lists the secret keys under folder `path` ("secret/team"), relative to it, sorted. With
  // `recursive`, descends into sub-folders and returns leaves only ("app/db"); otherwise returns
  // the direct children, folders ending in "/". A missing or empty folder is an empty list.
  virtual absl::StatusOr<std::vector<std::string>> list(std::string_view path, bool recursive) = 0;

  // Checks that the store accepts our credentials (a login, or a lookup of the token), without
  // reading a secret: what a SecretStore's Ready condition reports. Errors as read().
  virtual absl::Status validate() = 0;

  // How long the credentials the client holds now stay valid (a Vault token's TTL left), for the
  // token-TTL metric; nullopt when it holds none yet or they never expire.
  virtual std::optional<std::chrono::seconds> credentialsTtl() const = 0;

  // A stable key for "who reads from where": equal for two clients exactly when they are the same
  // server, namespace and credentials. Caches key on it so one identity never sees what only
  // another may read. Contains no secret (credentials appear as a keyed hash at most).
  virtual const std::string& identity() const = 0;
};

using StoreClientPtr = std::unique_ptr<StoreClient>;

}  // namespace secretsync::store
