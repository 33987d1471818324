#include "pkg/store/vault/kv_response.h"

#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/status_macros.h"

namespace secretsync::store::vault {
namespace {

using nlohmann::json;

absl::Status wrongType(absl::string_view field, absl::string_view expected) {
  return absl::DataLossError(absl::StrCat("vault reply: field \"", field, "\" is not ", expected));
}

// @return the member `key` of `object`, or nullptr when absent. `object` must be an object.
const json* member(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// The helpers below read an optional member: absent or null keeps the default; a value of another
// type is kDataLoss naming `field`, the member's dotted path.
absl::Status readString(const json& object, std::string_view key, absl::string_view field,
                        std::string& out) {
  const json* value = member(object, key);
  if (value == nullptr || value->is_null()) {
    return absl::OkStatus();
  }
  if (!value->is_string()) {
    return wrongType(field, "a string");
  }
  out = value->get_ref<const std::string&>();
  return absl::OkStatus();
}

absl::Status readBool(const json& object, std::string_view key, absl::string_view field,
                      bool& out) {
  const json* value = member(object, key);
  if (value == nullptr || value->is_null()) {
    return absl::OkStatus();
  }
  if (!value->is_boolean()) {
    return wrongType(field, "a boolean");
  }
  out = value->get<bool>();
  return absl::OkStatus();
}

absl::Status readInt(const json& object, std::string_view key, absl::string_view field,
                     int64_t& out) {
  const json* value = member(object, key);
  if (value == nullptr || value->is_null()) {
    return absl::OkStatus();
  }
  if (value->is_number_integer() && !value->is_number_unsigned()) {
    out = value->get<int64_t>();
    return absl::OkStatus();
  }
  if (value->is_number_unsigned()) {
    const uint64_t u = value->get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX)) {
      out = static_cast<int64_t>(u);
      return absl::OkStatus();
    }
  }
  return wrongType(field, "an integer");
}

// A map of strings (custom_metadata): null or absent is empty.
absl::Status readStringMap(const json& object, std::string_view key, absl::string_view field,
                           std::map<std::string, std::string>& out) {
  const json* value = member(object, key);
  if (value == nullptr || value->is_null()) {
    return absl::OkStatus();
  }
  if (!value->is_object()) {
    return wrongType(field, "an object");
  }
  for (const auto& [k, v] : value->items()) {
    if (!v.is_string()) {
      return wrongType(field, "an object of strings");
    }
    out.emplace(k, v.get_ref<const std::string&>());
  }
  return absl::OkStatus();
}

// @return the `data` object of an envelope, nullptr when absent or null, kDataLoss when the body
// is not an object or `data` is of another type.
absl::StatusOr<const json*> envelopeData(const json& body) {
  if (body.is_null()) {
    return nullptr;
  }
  if (!body.is_object()) {
    return absl::DataLossError("vault reply: body is not a JSON object");
  }
  const json* data = member(body, "data");
  if (data == nullptr || data->is_null()) {
    return nullptr;
  }
  if (!data->is_object()) {
    return wrongType("data", "an object");
  }
  return data;
}

absl::StatusOr<KvV2Read> parseKvV2ReadImpl(const json& body) {
  KvV2Read read;
  ASSIGN_OR_RETURN(const json* data, envelopeData(body));
  if (data == nullptr) {
    return read;
  }
  bool destroyed = false;
  if (const json* metadata = member(*data, "metadata");
      metadata != nullptr && !metadata->is_null()) {
    if (!metadata->is_object()) {
      return wrongType("data.metadata", "an object");
    }
    RETURN_IF_ERROR(readInt(*metadata, "version", "data.metadata.version", read.secret.version));
    // Versions count from 1; a negative one would reach CSI ObjectVersions and statuses as is.
    if (read.secret.version < 0) {
      return wrongType("data.metadata.version", "a version number");
    }
    RETURN_IF_ERROR(readString(*metadata, "created_time", "data.metadata.created_time",
                               read.secret.created_time));
    RETURN_IF_ERROR(
        readString(*metadata, "deletion_time", "data.metadata.deletion_time", read.deletion_time));
    RETURN_IF_ERROR(readBool(*metadata, "destroyed", "data.metadata.destroyed", destroyed));
    RETURN_IF_ERROR(readStringMap(*metadata, "custom_metadata", "data.metadata.custom_metadata",
                                  read.secret.custom_metadata));
  }
  const json* secret = member(*data, "data");
  if (secret == nullptr || secret->is_null()) {
    // The Go client returns such a reply as a secret without data; what it means is in the
    // metadata. Destroyed wins: a destroyed version may also carry a deletion time.
    if (destroyed) {
      read.state = KvReadState::kDestroyed;
    } else if (!read.deletion_time.empty()) {
      read.state = KvReadState::kDeleted;
    } else {
      read.state = KvReadState::kMissing;
    }
    return read;
  }
  if (!secret->is_object()) {
    return wrongType("data.data", "an object");
  }
  read.secret.data = *secret;
  read.state = KvReadState::kFound;
  return read;
}

absl::StatusOr<Secret> parseKvV1ReadImpl(const json& body) {
  ASSIGN_OR_RETURN(const json* data, envelopeData(body));
  if (data == nullptr) {
    return absl::DataLossError("vault reply: field \"data\" is missing");
  }
  Secret secret;
  secret.data = *data;
  return secret;
}

absl::StatusOr<SecretMetadata> parseKvV2MetadataImpl(const json& body) {
  ASSIGN_OR_RETURN(const json* data, envelopeData(body));
  if (data == nullptr) {
    return absl::DataLossError("vault reply: field \"data\" is missing");
  }
  SecretMetadata metadata;
  RETURN_IF_ERROR(
      readInt(*data, "current_version", "data.current_version", metadata.current_version));
  RETURN_IF_ERROR(readInt(*data, "oldest_version", "data.oldest_version", metadata.oldest_version));
  RETURN_IF_ERROR(readInt(*data, "max_versions", "data.max_versions", metadata.max_versions));
  RETURN_IF_ERROR(readBool(*data, "cas_required", "data.cas_required", metadata.cas_required));
  RETURN_IF_ERROR(readString(*data, "created_time", "data.created_time", metadata.created_time));
  RETURN_IF_ERROR(readString(*data, "updated_time", "data.updated_time", metadata.updated_time));
  RETURN_IF_ERROR(
      readStringMap(*data, "custom_metadata", "data.custom_metadata", metadata.custom_metadata));
  const json* versions = member(*data, "versions");
  if (versions == nullptr || versions->is_null()) {
    return metadata;
  }
  if (!versions->is_object()) {
    return wrongType("data.versions", "an object");
  }
  for (const auto& [key, value] : versions->items()) {
    int64_t number = 0;
    if (!absl::SimpleAtoi(key, &number)) {
      return wrongType("data.versions", "keyed by version numbers");
    }
    if (!value.is_object()) {
      return wrongType("data.versions.<version>", "an object");
    }
    VersionState state;
    RETURN_IF_ERROR(readString(value, "created_time", "data.versions.<version>.created_time",
                               state.created_time));
    RETURN_IF_ERROR(readString(value, "deletion_time", "data.versions.<version>.deletion_time",
                               state.deletion_time));
    RETURN_IF_ERROR(
        readBool(value, "destroyed", "data.versions.<version>.destroyed", state.destroyed));
    metadata.versions.insert_or_assign(number, std::move(state));
  }
  return metadata;
}

absl::StatusOr<std::vector<std::string>> parseListKeysImpl(const json& body) {
  std::vector<std::string> keys;
  ASSIGN_OR_RETURN(const json* data, envelopeData(body));
  if (data == nullptr) {
    return keys;
  }
  const json* list = member(*data, "keys");
  if (list == nullptr || list->is_null()) {
    return keys;
  }
  if (!list->is_array()) {
    return wrongType("data.keys", "an array");
  }
  keys.reserve(list->size());
  for (const json& key : *list) {
    if (!key.is_string()) {
      return wrongType("data.keys", "an array of strings");
    }
    keys.push_back(key.get_ref<const std::string&>());
  }
  return keys;
}

absl::StatusOr<MountInfo> parseMountInfoImpl(const json& body) {
  ASSIGN_OR_RETURN(const json* data, envelopeData(body));
  if (data == nullptr) {
    return absl::DataLossError("vault reply: field \"data\" is missing");
  }
  MountInfo mount;
  RETURN_IF_ERROR(readString(*data, "type", "data.type", mount.type));
  RETURN_IF_ERROR(readString(*data, "path", "data.path", mount.path));
  if (mount.path.empty() || mount.path == "/") {
    return absl::DataLossError("vault reply: field \"data.path\" is missing");
  }
  if (mount.path.back() != '/') {
    mount.path.push_back('/');
  }
  const json* options = member(*data, "options");
  if (options == nullptr || options->is_null()) {
    return mount;
  }
  if (!options->is_object()) {
    return wrongType("data.options", "an object");
  }
  std::string version;
  RETURN_IF_ERROR(readString(*options, "version", "data.options.version", version));
  mount.kv_version = version == "2" ? 2 : 1;
  return mount;
}

// Runs a parser so that nothing thrown inside (nlohmann's type errors, allocation failures) leaves
// it: every parser here is called on untrusted input.
template <typename T, typename Fn>
absl::StatusOr<T> guarded(Fn&& fn, const json& body) {
  try {
    return fn(body);
  } catch (const std::exception&) {
    return absl::DataLossError("vault reply: unexpected structure");
  }
}

}  // namespace

absl::StatusOr<KvV2Read> parseKvV2Read(const json& body) {
  return guarded<KvV2Read>(parseKvV2ReadImpl, body);
}

absl::StatusOr<Secret> parseKvV1Read(const json& body) {
  return guarded<Secret>(parseKvV1ReadImpl, body);
}

absl::StatusOr<SecretMetadata> parseKvV2Metadata(const json& body) {
  return guarded<SecretMetadata>(parseKvV2MetadataImpl, body);
}

absl::StatusOr<std::vector<std::string>> parseListKeys(const json& body) {
  return guarded<std::vector<std::string>>(parseListKeysImpl, body);
}

absl::StatusOr<MountInfo> parseMountInfo(const json& body) {
  return guarded<MountInfo>(parseMountInfoImpl, body);
}

}  // namespace secretsync::store::vault
