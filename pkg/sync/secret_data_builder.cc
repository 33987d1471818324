#include "pkg/sync/secret_data_builder.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pkg/api/go_json.h"
#include "pkg/api/template.h"
#include "pkg/api/vault_provider.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/go_regexp.h"
#include "pkg/common/utf8.h"
#include "pkg/store/read_set.h"

namespace secretsync::sync {
namespace {

using common::av;
using json = nlohmann::json;

constexpr std::string_view kFieldPayload = "type.secretsync.io/build-field";
constexpr std::string_view kRetryablePayload = "type.secretsync.io/build-retryable";

// Secret key -> bytes, as ESO's map[string][]byte.
using ByteMap = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------------------------
// Values as ESO gives them.

std::string goJson(const json& v) { return api::goJsonMarshal(v); }

// The bytes of one value as ESO gives them (esutils.GetByteValue; gjson's String() agrees): a
// string as is, null empty, numbers and booleans as text, objects and arrays as JSON.
std::string valueBytes(const json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_null()) {
    return "";
  }
  return goJson(v);
}

// ---------------------------------------------------------------------------------------------
// Errors.

struct Failure {
  std::string field;
  absl::StatusCode code;
  std::string reason;
  bool retryable;
};

absl::Status toStatus(const api::ExternalSecret& es, const Failure& f) {
  absl::Status status(f.code, absl::StrCat(es.metadata.namespace_name, "/", es.metadata.name, ": ",
                                           f.field, ": ", f.reason));
  status.SetPayload(av(kFieldPayload), absl::Cord(f.field));
  status.SetPayload(av(kRetryablePayload), absl::Cord(f.retryable ? "true" : "false"));
  return status;
}

// A failure of the spec alone: retrying without a change to the ExternalSecret cannot help.
Failure terminal(std::string field, absl::StatusCode code, std::string reason) {
  return {std::move(field), code, std::move(reason), false};
}

// A failure from the store or its contents: worth retrying with backoff.
Failure retryable(std::string field, const absl::Status& status) {
  return {std::move(field), status.code(), std::string(status.message()), true};
}
Failure retryable(std::string field, absl::StatusCode code, std::string reason) {
  return {std::move(field), code, std::move(reason), true};
}

template <typename T>
using Result = std::variant<T, Failure>;

// ---------------------------------------------------------------------------------------------
// gjson paths (the subset ESO users write).

// Splits a gjson path into keys: '.'-separated, "\x" a literal x. Refuses what gjson would read
// as more than a key (wildcards, queries, modifiers, multipaths) and empty keys.
absl::StatusOr<std::vector<std::string>> splitGjsonPath(std::string_view path) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    std::string& part = parts.back();
    if (c == '\\') {
      if (i + 1 == path.size()) {
        return absl::InvalidArgumentError("ends with an unfinished escape \"\\\"");
      }
      part.push_back(path[++i]);
      continue;
    }
    if (c == '.') {
      if (part.empty()) {
        return absl::InvalidArgumentError("has an empty key between dots");
      }
      parts.emplace_back();
      continue;
    }
    const bool at_key_start = part.empty();
    const bool at_path_start = parts.size() == 1 && at_key_start;
    if (c == '*' || c == '?' || c == '|' || (c == '#' && at_key_start) ||
        (c == '@' && at_key_start) || ((c == '[' || c == '{') && at_path_start) ||
        (c == '!' && at_path_start)) {
      return absl::UnimplementedError(absl::StrCat(
          "gjson syntax \"", std::string(1, c),
          "\" is not supported (only keys and array indices separated by '.', with \"\\.\" for a "
          "dot in a key); escape it with \"\\\" if it is part of a key"));
    }
    part.push_back(c);
  }
  if (parts.back().empty()) {
    return absl::InvalidArgumentError("ends with a dot");
  }
  return parts;
}

// The value at `property` in `data` (ESO's getSecretValue): an exact key first, then the path.
Result<std::string> selectProperty(const json& data, const std::string& property,
                                   const std::string& field, const std::string& path) {
  if (property.empty()) {
    return goJson(data);
  }
  if (auto it = data.find(property); it != data.end()) {
    return valueBytes(*it);
  }
  auto keys = splitGjsonPath(property);
  if (!keys.ok()) {
    return terminal(field, keys.status().code(),
                    absl::StrCat("property \"", property, "\" ", keys.status().message()));
  }
  const json* node = &data;
  for (const std::string& key : *keys) {
    const json* next = nullptr;
    if (node->is_object()) {
      if (auto it = node->find(key); it != node->end()) {
        next = &*it;
      }
    } else if (node->is_array()) {
      size_t index = 0;
      if (absl::SimpleAtoi(av(key), &index) && index < node->size()) {
        next = &(*node)[index];
      }
    }
    if (next == nullptr) {
      return retryable(field, absl::StatusCode::kNotFound,
                       absl::StrCat("key \"", property, "\" not found in secret \"", path, "\""));
    }
    node = next;
  }
  return valueBytes(*node);
}

// ---------------------------------------------------------------------------------------------
// decodingStrategy: Go's base64 StdEncoding / URLEncoding (padded, CR/LF ignored).

std::optional<std::string> goBase64Decode(std::string_view in, bool url) {
  std::string clean;
  clean.reserve(in.size());
  for (char c : in) {
    if (c != '\r' && c != '\n') {
      clean.push_back(c);
    }
  }
  if (clean.size() % 4 != 0) {
    return std::nullopt;
  }
  auto digit = [url](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
  };
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  for (size_t i = 0; i < clean.size(); i += 4) {
    const bool last = i + 4 == clean.size();
    int pad = 0;
    uint32_t bits = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = clean[i + k];
      if (c == '=') {
        // Padding only at the end of the last quantum, and at most two.
        if (!last || k < 2) {
          return std::nullopt;
        }
        ++pad;
        bits <<= 6;
        continue;
      }
      const int d = digit(c);
      if (d < 0 || pad > 0) {
        return std::nullopt;
      }
      bits = (bits << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<char>((bits >> 16) & 0xFF));
    if (pad < 2) {
      out.push_back(static_cast<char>((bits >> 8) & 0xFF));
    }
    if (pad < 1) {
      out.push_back(static_cast<char>(bits & 0xFF));
    }
  }
  return out;
}

const char* decodingName(api::DecodingStrategy s) {
  switch (s) {
    case api::DecodingStrategy::kBase64:
      return "Base64";
    case api::DecodingStrategy::kBase64Url:
      return "Base64URL";
    case api::DecodingStrategy::kAuto:
      return "Auto";
    case api::DecodingStrategy::kNone:
      break;
  }
  return "None";
}

// ESO's utils.Decode. The error names the strategy, never the value.
std::optional<std::string> decode(api::DecodingStrategy strategy, std::string value) {
  switch (strategy) {
    case api::DecodingStrategy::kNone:
      return value;
    case api::DecodingStrategy::kBase64:
      return goBase64Decode(value, false);
    case api::DecodingStrategy::kBase64Url:
      return goBase64Decode(value, true);
    case api::DecodingStrategy::kAuto:
      if (auto out = goBase64Decode(value, false); out.has_value()) {
        return out;
      }
      if (auto out = goBase64Decode(value, true); out.has_value()) {
        return out;
      }
      return value;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// rewrite and key conversion.

// Compiles a Go regexp; an invalid one is terminal, naming `field` and saying why.
Result<common::GoRegexp> compileRegex(const std::string& pattern, const std::string& field) {
  auto re = common::GoRegexp::compile(pattern);
  if (!re.ok()) {
    return terminal(field, absl::StatusCode::kInvalidArgument,
                    absl::StrCat("invalid regular expression: ", re.status().message()));
  }
  return std::move(*re);
}

// ESO's conversionStrategy Default: each character outside [-._a-zA-Z0-9] becomes "_" (a
// multi-byte UTF-8 character becomes one "_"; ESO keeps non-ASCII letters, which the API server
// then refuses).
std::string convertKey(const std::string& key) {
  std::string out;
  for (size_t i = 0; i < key.size();) {
    const char c = key[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_') {
      out.push_back(c);
      ++i;
    } else {
      out.push_back('_');
      i += std::max<size_t>(1, common::validUtf8Length(key, i));
    }
  }
  return out;
}

// Applies rewrite[] in order to the keys of `in` (ESO's RewriteMap); without rewrites, converts
// the keys; then drops empty keys and checks the rest. `field` is "spec.dataFrom[j]".
Result<ByteMap> rewriteKeys(const api::ExternalSecretDataFrom& from, ByteMap in,
                            const std::string& field, const std::string& source) {
  for (size_t k = 0; k < from.rewrite.size(); ++k) {
    const std::string rfield = absl::StrCat(field, ".rewrite[", k, "]");
    ByteMap out;
    std::vector<std::pair<std::string, std::string>> renamed;
    if (const auto* rx = std::get_if<api::RewriteRegexp>(&from.rewrite[k])) {
      auto re = compileRegex(rx->source, rfield + ".regexp.source");
      if (auto* f = std::get_if<Failure>(&re)) {
        return *f;
      }
      for (auto& [key, value] : in) {
        renamed.emplace_back(std::get<common::GoRegexp>(re).replaceAll(key, rx->target),
                             std::move(value));
      }
    } else {
      const auto& tr = std::get<api::RewriteTransform>(from.rewrite[k]);
      auto tmpl = api::Template::parse(rfield + ".transform.template", tr.template_text);
      if (!tmpl.ok()) {
        return terminal(rfield + ".transform.template", tmpl.status().code(),
                        std::string(tmpl.status().message()));
      }
      for (auto& [key, value] : in) {
        auto rendered = tmpl->render({{"value", key}});
        if (!rendered.ok()) {
          return retryable(rfield + ".transform.template", rendered.status());
        }
        renamed.emplace_back(*std::move(rendered), std::move(value));
      }
    }
    for (auto& [key, value] : renamed) {
      // Go's map makes the winner of a collision random; a stable error is kinder than that.
      if (!out.emplace(key, std::move(value)).second) {
        return retryable(rfield, absl::StatusCode::kInvalidArgument,
                         absl::StrCat("two ", source, " keys are rewritten to \"", key, "\""));
      }
    }
    in = std::move(out);
  }
  if (from.rewrite.empty()) {
    ByteMap out;
    for (auto& [key, value] : in) {
      std::string converted = convertKey(key);
      if (!out.emplace(converted, std::move(value)).second) {
        return retryable(field, absl::StatusCode::kInvalidArgument,
                         absl::StrCat("secret name collision during conversion: \"", converted,
                                      "\" (", source, ")"));
      }
    }
    in = std::move(out);
  }
  in.erase("");
  for (const auto& [key, value] : in) {
    if (absl::Status valid = validateSecretKey(key); !valid.ok()) {
      return retryable(field, absl::StatusCode::kInvalidArgument,
                       absl::StrCat("key from ", source, ": ", valid.message(),
                                    from.rewrite.empty() ? "" : " (after rewrite)"));
    }
  }
  return in;
}

// ---------------------------------------------------------------------------------------------
// Templates.

// Renders each template of `templates` with `values`; `field` is e.g. "spec.target.template.data".
Result<std::map<std::string, std::string>> renderAll(
    const std::map<std::string, std::string>& templates,
    const std::map<std::string, std::string>& values, const std::string& field) {
  std::map<std::string, std::string> out;
  for (const auto& [key, text] : templates) {
    const std::string kfield = absl::StrCat(field, "[", key, "]");
    auto tmpl = api::Template::parse("", text);
    if (!tmpl.ok()) {
      return terminal(kfield, tmpl.status().code(), std::string(tmpl.status().message()));
    }
    auto rendered = tmpl->render(values);
    if (!rendered.ok()) {
      return retryable(kfield, rendered.status());
    }
    out.emplace(key, *std::move(rendered));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The build.

class Build {
 public:
  Build(const api::ExternalSecret& es, StoreClientSource& stores, store::Fetcher& fetcher)
      : es_(es), stores_(stores), reads_(fetcher) {}

  absl::StatusOr<DesiredSecret> run() {
    ByteMap data;
    for (size_t j = 0; j < es_.spec.data_from.size(); ++j) {
      auto entry = dataFrom(j);
      if (auto* f = std::get_if<Failure>(&entry)) {
        return toStatus(es_, *f);
      }
      for (auto& [key, value] : std::get<ByteMap>(entry)) {
        data[key] = std::move(value);
      }
    }
    for (size_t i = 0; i < es_.spec.data.size(); ++i) {
      auto entry = dataEntry(i);
      if (auto* f = std::get_if<Failure>(&entry)) {
        return toStatus(es_, *f);
      }
      data[es_.spec.data[i].secret_key] = std::get<std::string>(std::move(entry));
    }
    DesiredSecret out;
    if (auto status = applyTemplate(std::move(data), out); !status.ok()) {
      return status;
    }
    out.data_hash = esoDataHash(out.data);
    return out;
  }

 private:
  Result<ResolvedStore> storeFor(const std::optional<api::StoreRef>& own,
                                 const std::string& own_field) {
    const bool use_own = own.has_value();
    const std::string field = use_own ? own_field : "spec.secretStoreRef";
    if (!use_own && !es_.spec.secret_store_ref.has_value()) {
      return terminal(field, absl::StatusCode::kInvalidArgument,
                      "no store: set spec.secretStoreRef or the entry's sourceRef.storeRef");
    }
    auto resolved =
        stores_.storeFor(use_own ? *own : *es_.spec.secret_store_ref, es_.metadata.namespace_name);
    if (!resolved.ok()) {
      return retryable(field, resolved.status());
    }
    if (resolved->client == nullptr) {
      return retryable(field, absl::StatusCode::kInternal, "the store source returned no client");
    }
    return *std::move(resolved);
  }

  // The secret at `ref.key` read through the Fetcher, or its metadata with metadataPolicy Fetch,
  // narrowed by `ref.property`. `field` is "spec.data[i].remoteRef" or "spec.dataFrom[j].extract".
  Result<std::string> readRef(const ResolvedStore& store, const api::RemoteRef& ref,
                              const std::string& field) {
    const std::string path = api::vaultSecretPath(store.mount, ref.key);
    json data;
    if (ref.metadata_policy == api::MetadataPolicy::kFetch) {
      if (store.kv_version == api::VaultKvVersion::kV1) {
        return retryable(field + ".metadataPolicy", absl::StatusCode::kFailedPrecondition,
                         "cannot perform metadata fetch operations with kv version v1");
      }
      auto meta = store.client->readMetadata(path);
      if (!meta.ok()) {
        return retryable(field + ".key", meta.status());
      }
      // ESO's readSecretMetadata: the system fields, then custom_metadata over them.
      data = json::object();
      if (!meta->created_time.empty()) {
        data["created_time"] = meta->created_time;
      }
      data["current_version"] = std::to_string(meta->current_version);
      for (const auto& [key, value] : meta->custom_metadata) {
        data[key] = value;
      }
    } else {
      store::SecretRef secret_ref{path, std::nullopt};
      if (!ref.version.empty()) {
        int64_t version = 0;
        if (!absl::SimpleAtoi(av(ref.version), &version) || version <= 0) {
          return terminal(field + ".version", absl::StatusCode::kInvalidArgument,
                          absl::StrCat("\"", ref.version, "\" is not a positive integer"));
        }
        secret_ref.version = version;
      }
      auto secret = reads_.read(*store.client, secret_ref);
      if (!secret.ok()) {
        return retryable(field + ".key", secret.status());
      }
      data = (*secret)->data;
    }
    return selectProperty(data, ref.property, field + ".property", path);
  }

  Result<std::string> dataEntry(size_t i) {
    const api::ExternalSecretData& entry = es_.spec.data[i];
    const std::string field = absl::StrCat("spec.data[", i, "]");
    if (absl::Status valid = validateSecretKey(entry.secret_key); !valid.ok()) {
      return terminal(field + ".secretKey", valid.code(), std::string(valid.message()));
    }
    auto store = storeFor(entry.store_ref, field + ".sourceRef.storeRef");
    if (auto* f = std::get_if<Failure>(&store)) {
      return *f;
    }
    const std::string rfield = field + ".remoteRef";
    auto value = readRef(std::get<ResolvedStore>(store), entry.remote_ref, rfield);
    if (auto* f = std::get_if<Failure>(&value)) {
      return *f;
    }
    auto decoded =
        decode(entry.remote_ref.decoding_strategy, std::get<std::string>(std::move(value)));
    if (!decoded.has_value()) {
      return retryable(rfield + ".decodingStrategy", absl::StatusCode::kInvalidArgument,
                       absl::StrCat("the value is not valid ",
                                    decodingName(entry.remote_ref.decoding_strategy)));
    }
    return *std::move(decoded);
  }

  Result<ByteMap> dataFrom(size_t j) {
    const api::ExternalSecretDataFrom& entry = es_.spec.data_from[j];
    const std::string field = absl::StrCat("spec.dataFrom[", j, "]");
    auto store = storeFor(entry.store_ref, field + ".sourceRef.storeRef");
    if (auto* f = std::get_if<Failure>(&store)) {
      return *f;
    }
    const ResolvedStore& resolved = std::get<ResolvedStore>(store);
    ByteMap found;
    api::DecodingStrategy decoding = api::DecodingStrategy::kNone;
    std::string source;
    if (entry.extract.has_value()) {
      source = "extract";
      decoding = entry.extract->decoding_strategy;
      auto extracted = extract(resolved, *entry.extract, field + ".extract");
      if (auto* f = std::get_if<Failure>(&extracted)) {
        return *f;
      }
      found = std::get<ByteMap>(std::move(extracted));
    } else if (entry.find.has_value()) {
      source = "find";
      decoding = entry.find->decoding_strategy;
      auto matched = find(resolved, *entry.find, field + ".find");
      if (auto* f = std::get_if<Failure>(&matched)) {
        return *f;
      }
      found = std::get<ByteMap>(std::move(matched));
    } else {
      return terminal(field, absl::StatusCode::kInvalidArgument, "needs extract or find");
    }
    auto keyed = rewriteKeys(entry, std::move(found), field, source);
    if (auto* f = std::get_if<Failure>(&keyed)) {
      return *f;
    }
    ByteMap out;
    for (auto& [key, value] : std::get<ByteMap>(keyed)) {
      auto decoded = decode(decoding, std::move(value));
      if (!decoded.has_value()) {
        return retryable(
            absl::StrCat(field, ".", source, ".decodingStrategy"),
            absl::StatusCode::kInvalidArgument,
            absl::StrCat("the value of key \"", key, "\" is not valid ", decodingName(decoding)));
      }
      out.emplace(key, *std::move(decoded));
    }
    return out;
  }

  // ESO's GetSecretMap: the selected value must be a JSON object; its keys become Secret keys.
  Result<ByteMap> extract(const ResolvedStore& store, const api::ExtractRef& ref,
                          const std::string& field) {
    auto selected = readRef(store, ref, field);
    if (auto* f = std::get_if<Failure>(&selected)) {
      return *f;
    }
    const json object = json::parse(std::get<std::string>(selected), nullptr,
                                    /*allow_exceptions=*/false);
    if (!object.is_object()) {
      return retryable(
          ref.property.empty() ? field + ".key" : field + ".property",
          absl::StatusCode::kInvalidArgument,
          absl::StrCat("secret \"", api::vaultSecretPath(store.mount, ref.key), "\"",
                       ref.property.empty() ? "" : " property \"" + ref.property + "\"",
                       " is not a JSON object, so it has no keys to extract"));
    }
    ByteMap out;
    for (const auto& [key, value] : object.items()) {
      out.emplace(key, valueBytes(value));
    }
    return out;
  }

  // ESO's GetAllSecrets by name: every secret under the path whose mount-relative name matches.
  Result<ByteMap> find(const ResolvedStore& store, const api::FindRef& ref,
                       const std::string& field) {
    if (!ref.tags.empty()) {
      return terminal(field + ".tags", absl::StatusCode::kUnimplemented,
                      "find by tags is not supported by secretsync yet; use name.regexp");
    }
    auto compiled = compileRegex(ref.name_regexp, field + ".name.regexp");
    if (auto* f = std::get_if<Failure>(&compiled)) {
      return *f;
    }
    const common::GoRegexp& re = std::get<common::GoRegexp>(compiled);
    // find.path is relative to the mount (a leading mount is accepted, as for keys).
    std::string relative = ref.path;
    while (!relative.empty() && relative.front() == '/') {
      relative.erase(0, 1);
    }
    while (!relative.empty() && relative.back() == '/') {
      relative.pop_back();
    }
    if (!store.mount.empty() && relative.rfind(store.mount + "/", 0) == 0) {
      relative.erase(0, store.mount.size() + 1);
    } else if (relative == store.mount) {
      relative.clear();
    }
    if (store.mount.empty() && relative.empty()) {
      return terminal(
          field + ".path", absl::StatusCode::kInvalidArgument,
          "the store has no path (mount): find needs a path that starts with the mount");
    }
    const std::string folder = store.mount.empty() ? relative
                               : relative.empty()  ? store.mount
                                                   : absl::StrCat(store.mount, "/", relative);
    auto names = store.client->list(folder, /*recursive=*/true);
    if (!names.ok()) {
      return retryable(field + ".path", names.status());
    }
    ByteMap out;
    for (const std::string& leaf : *names) {
      const std::string name = relative.empty() ? leaf : absl::StrCat(relative, "/", leaf);
      if (!ref.name_regexp.empty() && !re.matchesIn(name)) {
        continue;
      }
      const std::string path = api::vaultSecretPath(store.mount, name);
      auto secret = reads_.read(*store.client, {path, std::nullopt});
      if (!secret.ok()) {
        // ESO skips a listed secret that has no data (deleted or destroyed current version).
        if (secret.status().code() == absl::StatusCode::kNotFound) {
          continue;
        }
        return retryable(field, secret.status());
      }
      out.emplace(name, goJson((*secret)->data));
    }
    return out;
  }

  absl::Status applyTemplate(ByteMap data, DesiredSecret& out) {
    const auto& tmpl = es_.spec.target.template_spec;
    const bool copy_es_metadata = !tmpl.has_value() || !tmpl->has_metadata;
    if (copy_es_metadata) {
      out.labels = es_.metadata.labels;
      out.annotations = es_.metadata.annotations;
    }
    if (!tmpl.has_value()) {
      for (auto& [key, value] : data) {
        out.data.emplace(key, common::SecretString(std::move(value)));
      }
      return absl::OkStatus();
    }
    out.type = tmpl->type;
    const std::string base = "spec.target.template";
    if (tmpl->has_metadata) {
      auto labels = renderAll(tmpl->labels, data, base + ".metadata.labels");
      if (auto* f = std::get_if<Failure>(&labels)) {
        return toStatus(es_, *f);
      }
      out.labels = std::get<0>(std::move(labels));
      auto annotations = renderAll(tmpl->annotations, data, base + ".metadata.annotations");
      if (auto* f = std::get_if<Failure>(&annotations)) {
        return toStatus(es_, *f);
      }
      out.annotations = std::get<0>(std::move(annotations));
    }
    if (tmpl->data.empty()) {
      for (auto& [key, value] : data) {
        out.data.emplace(key, common::SecretString(std::move(value)));
      }
      return absl::OkStatus();
    }
    auto rendered = renderAll(tmpl->data, data, base + ".data");
    if (auto* f = std::get_if<Failure>(&rendered)) {
      return toStatus(es_, *f);
    }
    for (const auto& [key, value] : std::get<0>(rendered)) {
      if (absl::Status valid = validateSecretKey(key); !valid.ok()) {
        return toStatus(es_, terminal(absl::StrCat(base, ".data[", key, "]"), valid.code(),
                                      std::string(valid.message())));
      }
    }
    if (tmpl->merge_policy == api::TemplateMergePolicy::kMerge) {
      for (auto& [key, value] : data) {
        out.data.emplace(key, common::SecretString(std::move(value)));
      }
    }
    for (auto& [key, value] : std::get<0>(rendered)) {
      out.data.insert_or_assign(key, common::SecretString(std::move(value)));
    }
    return absl::OkStatus();
  }

  const api::ExternalSecret& es_;
  StoreClientSource& stores_;
  // Every entry naming one secret takes it from one read: the Secret never mixes two versions.
  store::ReadSet reads_;
};

}  // namespace

SecretDataBuilder::SecretDataBuilder(StoreClientSource& stores, store::Fetcher& fetcher)
    : stores_(stores), fetcher_(fetcher) {}

absl::StatusOr<DesiredSecret> SecretDataBuilder::build(const api::ExternalSecret& es) const {
  return Build(es, stores_, fetcher_).run();
}

bool isRetryable(const absl::Status& status) {
  if (status.ok()) {
    return false;
  }
  if (auto flag = status.GetPayload(av(kRetryablePayload)); flag.has_value()) {
    return *flag == "true";
  }
  return status.code() != absl::StatusCode::kInvalidArgument &&
         status.code() != absl::StatusCode::kUnimplemented;
}

std::string failedField(const absl::Status& status) {
  if (auto field = status.GetPayload(av(kFieldPayload)); field.has_value()) {
    return std::string(*field);
  }
  return "";
}

std::string esoDataHash(const std::map<std::string, common::SecretString>& data) {
  // fmt.Sprintf("%+v", map[string][]byte{...}): "map[" then "key:[b1 b2 ...]" joined by spaces
  // (keys sorted by fmt), then "]"; each byte in decimal.
  std::string text = "map[";
  bool first = true;
  for (const auto& [key, value] : data) {
    if (!first) {
      text.push_back(' ');
    }
    first = false;
    absl::StrAppend(&text, key, ":[");
    const std::string& bytes = value.reveal();
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (i > 0) {
        text.push_back(' ');
      }
      absl::StrAppend(&text, static_cast<unsigned>(static_cast<unsigned char>(bytes[i])));
    }
    text.push_back(']');
  }
  text.push_back(']');
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr) != 1) {
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xF]);
  }
  return hex;
}

absl::Status validateSecretKey(std::string_view key) {
  const std::string quoted =
      absl::StrCat("key \"", av(key.substr(0, 64)), key.size() > 64 ? "...\"" : "\"");
  if (key.empty()) {
    return absl::InvalidArgumentError("a Secret key must not be empty");
  }
  if (key.size() > 253) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " is ", key.size(), " characters long; a Secret key has at most 253"));
  }
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_')) {
      return absl::InvalidArgumentError(absl::StrCat(
          quoted, ": a Secret key may only have alphanumeric characters, '-', '_' or '.'"));
    }
  }
  if (key == "." || key.rfind("..", 0) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, ": a Secret key may not be \".\" or start with \"..\""));
  }
  return absl::OkStatus();
}

}  // namespace secretsync::sync
