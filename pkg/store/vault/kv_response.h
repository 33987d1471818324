#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/store/store_client.h"

namespace secretsync::store::vault {

// Parsers of Vault KV reply bodies (already JSON, see parseReplyBody). Pure functions: no I/O, no
// exceptions escape. Missing optional fields take their defaults; a field of the wrong type is
// kDataLoss naming the field ("data.metadata.version"), never its value.
//
// Thread-safety: stateless; safe from any thread.

// What a KV v2 read body says about the version asked for.
enum class KvReadState {
  // data.data is an object: the secret.
  kFound,
  // data.data is null and metadata.deletion_time is set (soft-deleted).
  kDeleted,
  // data.data is null and metadata.destroyed is true.
  kDestroyed,
  // Nothing there: `{"errors":[]}`, an empty body, `data` null (the "Invalid path for a versioned
  // K/V secrets engine" envelope), or data.data null with no deletion mark.
  kMissing,
};

struct KvV2Read {
  KvReadState state = KvReadState::kMissing;
  // Filled from data.metadata whenever present (version, created_time, custom_metadata), and the
  // data only when kFound.
  Secret secret;
  // metadata.deletion_time: "" when not deleted; set but in the future on a kFound read with
  // delete_version_after.
  std::string deletion_time;
};

// Parses the body of `GET <mount>/data/<path>`, a 200 or a 404 alike: Vault answers a soft-deleted
// or destroyed version with 404 and a full envelope, so the status alone cannot tell.
absl::StatusOr<KvV2Read> parseKvV2Read(const nlohmann::json& body);

// Parses the body of a KV v1 `GET <mount>/<path>` (200): `data` is the secret.
absl::StatusOr<Secret> parseKvV1Read(const nlohmann::json& body);

// Parses the body of `GET <mount>/metadata/<path>` (200). `versions` keys are decimal strings.
absl::StatusOr<SecretMetadata> parseKvV2Metadata(const nlohmann::json& body);

// Parses the body of a LIST (`GET ...?list=true`, 200): data.keys, folders ending in "/". A body
// without data.keys is an empty list.
absl::StatusOr<std::vector<std::string>> parseListKeys(const nlohmann::json& body);

// The mount entry of the CLI's preflight, `GET sys/internal/ui/mounts/<path>` (200).
struct MountInfo {
  // Engine type, "kv" for KV (or "generic", KV v1's old name).
  std::string type;
  // Mount path, always ending in "/" ("secret/", "team/kv/"); may carry a namespace prefix.
  std::string path;
  // 2 when options.version is "2", otherwise 1 (absent, null, "", "1" or anything else, as the
  // CLI reads it).
  int kv_version = 1;
};

absl::StatusOr<MountInfo> parseMountInfo(const nlohmann::json& body);

}  // namespace secretsync::store::vault
