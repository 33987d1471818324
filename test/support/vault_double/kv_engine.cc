#include "test/support/vault_double/kv_engine.h"

#include <algorithm>
#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace secretsync::test::vault {
namespace {

constexpr char kRootWarning[] =
    "Non-listing operations on the root of a K/V v2 mount are not supported.";

// Parses an integer field given as a JSON number or a numeric string (mapstructure's weak decode).
std::optional<int64_t> intField(const nlohmann::json& v) {
  if (v.is_number_integer()) {
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d != static_cast<double>(static_cast<int64_t>(d))) {
      return std::nullopt;
    }
    return static_cast<int64_t>(d);
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.empty() || s.size() > 18) {
      return std::nullopt;
    }
    size_t i = (s[0] == '-') ? 1 : 0;
    if (i == s.size()) {
      return std::nullopt;
    }
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return std::nullopt;
      }
    }
    return std::stoll(s);
  }
  return std::nullopt;
}

std::optional<bool> boolField(const nlohmann::json& v) {
  if (v.is_boolean()) {
    return v.get<bool>();
  }
  if (v.is_string()) {
    return parseGoBool(v.get<std::string>());
  }
  if (v.is_number_integer()) {
    return v.get<int64_t>() != 0;
  }
  return std::nullopt;
}

std::string verbFor(Operation op) {
  switch (op) {
    case Operation::kRead:
      return "get";
    case Operation::kList:
      return "list";
    case Operation::kWrite:
      return "put";
    case Operation::kPatch:
      return "patch";
    case Operation::kDelete:
      return "delete";
  }
  return "get";
}

HttpServerResponse kvOk(nlohmann::json data, const KvContext& ctx,
                        std::vector<std::string> warnings = {}) {
  Envelope e;
  e.data = std::move(data);
  e.mount_type = "kv";
  e.warnings = std::move(warnings);
  return envelopeResponse(e, ctx.wire);
}

// A raw engine response (logical.RespondWithStatusCode): an envelope serialised inside the
// plugin, so mount_type stays empty.
HttpServerResponse kvRaw(int status, nlohmann::json data, const KvContext& ctx,
                         std::vector<std::string> warnings = {}) {
  Envelope e;
  e.data = std::move(data);
  e.warnings = std::move(warnings);
  return envelopeResponse(e, ctx.wire, status);
}

HttpServerResponse notFound() { return errorResponse(404, {}); }

HttpServerResponse badRequest(std::string message) { return errorResponse(400, {message}); }

std::string ts(const std::optional<common::SystemTime>& t) {
  return t.has_value() ? formatRfc3339Nano(*t) : "";
}

bool isDeleted(const KvVersion& v, common::SystemTime now) {
  return v.deletion_time.has_value() && *v.deletion_time <= now;
}

// Parses `versions` as an array of ints, a "1,2" string or a single number.
std::optional<std::vector<int64_t>> parseVersions(const nlohmann::json& fields) {
  std::vector<int64_t> out;
  auto it = fields.find("versions");
  if (it == fields.end() || it->is_null()) {
    return out;
  }
  auto add = [&](const nlohmann::json& v) -> bool {
    auto n = intField(v);
    if (!n) {
      return false;
    }
    out.push_back(*n);
    return true;
  };
  if (it->is_array()) {
    for (const auto& v : *it) {
      if (!add(v)) {
        return std::nullopt;
      }
    }
  } else if (it->is_string()) {
    std::string s = it->get<std::string>();
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string part =
          s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty() && !add(nlohmann::json(part))) {
        return std::nullopt;
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  } else if (!add(*it)) {
    return std::nullopt;
  }
  return out;
}

bool printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
  }
  return true;
}

// Validates custom_metadata as the KV plugin does; @return "" when valid.
std::string validateCustomMetadata(const std::map<std::string, std::string>& m) {
  std::vector<std::string> errs;
  if (m.size() > 64) {
    errs.push_back(absl::StrCat("payload must contain at most 64 keys, provided ", m.size()));
  }
  for (const auto& [k, v] : m) {
    if (k.empty() || k.size() > 128) {
      errs.push_back(absl::StrCat("length of key \"", k, "\" is ", k.size(),
                                  " but must be 0 < len(key) <= 128"));
    }
    if (v.empty() || v.size() > 512) {
      errs.push_back(absl::StrCat("length of value for key \"", k, "\" is ", v.size(),
                                  " but must be 0 < len(value) <= 512"));
    }
    if (!printable(k)) {
      errs.push_back(absl::StrCat("key \"", k, "\" contains unprintable characters"));
    }
    if (!printable(v)) {
      errs.push_back(absl::StrCat("value for key \"", k, "\" contains unprintable characters"));
    }
  }
  if (errs.empty()) {
    return "";
  }
  std::string text =
      errs.size() == 1 ? "1 error occurred:\n" : absl::StrCat(errs.size(), " errors occurred:\n");
  for (const auto& e : errs) {
    absl::StrAppend(&text, "\t* ", e, "\n");
  }
  return absl::StrCat("custom_metadata validation failed: ", text, "\n");
}

nlohmann::json subkeysOf(const nlohmann::json& obj, int64_t depth, int64_t level) {
  nlohmann::json out = nlohmann::json::object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it->is_object() && !it->empty() && (depth <= 0 || level < depth)) {
      out[it.key()] = subkeysOf(*it, depth, level + 1);
    } else {
      out[it.key()] = nullptr;
    }
  }
  return out;
}

nlohmann::json listKeys(const std::vector<std::string>& names, const std::string& prefix) {
  std::set<std::string> keys;
  for (const auto& name : names) {
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    std::string rest = name.substr(prefix.size());
    size_t slash = rest.find('/');
    keys.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
  }
  return nlohmann::json(std::vector<std::string>(keys.begin(), keys.end()));
}

}  // namespace

std::string invalidKvV2PathWarning(const std::string& verb) {
  return absl::StrCat(
      "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API "
      "endpoints to use. If using the Vault CLI, use 'vault kv ",
      verb, "' for this operation.");
}

// ---------------------------------------------------------------------------------------------
// KV v2

int64_t KvV2Engine::effectiveMaxVersions(const KvKey& key) const {
  int64_t m = std::max(key.max_versions, max_versions);
  return m > 0 ? m : 10;
}

std::chrono::seconds KvV2Engine::effectiveDeleteAfter(const KvKey& key) const {
  return key.delete_version_after.count() > 0 ? key.delete_version_after : delete_version_after;
}

nlohmann::json KvV2Engine::versionMetadata(const KvKey& key, int64_t version, bool) const {
  const KvVersion& v = key.versions.at(version);
  nlohmann::json m;
  m["created_time"] = formatRfc3339Nano(v.created_time);
  m["custom_metadata"] = key.custom_metadata.has_value() ? nlohmann::json(*key.custom_metadata)
                                                         : nlohmann::json(nullptr);
  m["deletion_time"] = ts(v.deletion_time);
  m["destroyed"] = v.destroyed;
  m["version"] = version;
  return m;
}

bool KvV2Engine::exists(const std::string& rel) const {
  size_t slash = rel.find('/');
  if (slash == std::string::npos) {
    return rel == "config";
  }
  return keys_.count(rel.substr(slash + 1)) > 0;
}

const KvKey* KvV2Engine::findKey(const std::string& path) const {
  auto it = keys_.find(path);
  return it == keys_.end() ? nullptr : &it->second;
}

KvKey& KvV2Engine::keyMetadata(const std::string& path, common::SystemTime now) {
  auto it = keys_.find(path);
  if (it == keys_.end()) {
    KvKey key;
    key.created_time = now;
    key.updated_time = now;
    it = keys_.emplace(path, std::move(key)).first;
  }
  return it->second;
}

absl::StatusOr<int64_t> KvV2Engine::put(const std::string& path, const nlohmann::json& data,
                                        std::optional<int64_t> cas, common::SystemTime now) {
  if (path.empty() || path.back() == '/') {
    return absl::InvalidArgumentError("invalid key path");
  }
  if (!data.is_object()) {
    return absl::InvalidArgumentError("no data provided");
  }
  auto existing = keys_.find(path);
  bool key_cas_required = existing != keys_.end() && existing->second.cas_required;
  int64_t current = existing != keys_.end() ? existing->second.current_version : 0;
  if ((cas_required || key_cas_required) && !cas.has_value()) {
    return absl::InvalidArgumentError("check-and-set parameter required for this call");
  }
  if (cas.has_value() && *cas != current) {
    return absl::InvalidArgumentError("check-and-set parameter did not match the current version");
  }
  KvKey& key = keyMetadata(path, now);
  int64_t version = ++key.current_version;
  KvVersion v;
  v.data = data;
  v.created_time = now;
  auto after = effectiveDeleteAfter(key);
  if (after.count() > 0) {
    v.deletion_time = now + after;
  }
  key.versions[version] = std::move(v);
  key.updated_time = now;
  // Prune as AddVersion does: keep the newest max_versions versions.
  int64_t max = effectiveMaxVersions(key);
  if (key.current_version - key.oldest_version >= max) {
    int64_t delete_through = key.current_version - max;
    for (auto it = key.versions.begin(); it != key.versions.end() && it->first <= delete_through;) {
      it = key.versions.erase(it);
    }
    key.oldest_version = delete_through + 1;
  }
  return version;
}

absl::Status KvV2Engine::deleteVersions(const std::string& path,
                                        const std::vector<int64_t>& versions,
                                        common::SystemTime now) {
  auto it = keys_.find(path);
  if (it == keys_.end()) {
    return absl::OkStatus();
  }
  for (int64_t n : versions) {
    auto v = it->second.versions.find(n);
    if (v == it->second.versions.end() || v->second.destroyed || isDeleted(v->second, now)) {
      continue;
    }
    v->second.deletion_time = now;
  }
  return absl::OkStatus();
}

absl::Status KvV2Engine::undeleteVersions(const std::string& path,
                                          const std::vector<int64_t>& versions,
                                          common::SystemTime now) {
  auto it = keys_.find(path);
  if (it == keys_.end()) {
    return absl::OkStatus();
  }
  auto after = effectiveDeleteAfter(it->second);
  for (int64_t n : versions) {
    auto v = it->second.versions.find(n);
    if (v == it->second.versions.end() || v->second.destroyed) {
      continue;
    }
    if (after.count() > 0) {
      v->second.deletion_time = now + after;
    } else {
      v->second.deletion_time.reset();
    }
  }
  return absl::OkStatus();
}

absl::Status KvV2Engine::destroyVersions(const std::string& path,
                                         const std::vector<int64_t>& versions) {
  auto it = keys_.find(path);
  if (it == keys_.end()) {
    return absl::OkStatus();
  }
  for (int64_t n : versions) {
    auto v = it->second.versions.find(n);
    if (v == it->second.versions.end()) {
      continue;
    }
    v->second.destroyed = true;
    v->second.data = nullptr;
  }
  return absl::OkStatus();
}

HttpServerResponse KvV2Engine::handle(const KvRequest& req, const KvContext& ctx) {
  const std::string& rel = req.rel;
  if (rel == "config" || rel == "config/") {
    if (req.op == Operation::kList) {
      return kvRaw(404, nullptr, ctx, {invalidKvV2PathWarning("list")});
    }
    return config(req, ctx);
  }
  size_t slash = rel.find('/');
  std::string head = slash == std::string::npos ? rel : rel.substr(0, slash);
  std::string tail = slash == std::string::npos ? "" : rel.substr(slash + 1);
  static const std::set<std::string> kKnown = {"data",     "metadata", "delete",
                                               "undelete", "destroy",  "subkeys"};
  if (kKnown.count(head) == 0) {
    return kvRaw(404, nullptr, ctx, {invalidKvV2PathWarning(verbFor(req.op))});
  }
  if (req.op == Operation::kList) {
    if (head == "metadata") {
      return listMetadata(tail, req, ctx);
    }
    return kvRaw(404, nullptr, ctx, {invalidKvV2PathWarning("list")});
  }
  if (tail.empty()) {
    return kvRaw(404, nullptr, ctx, {kRootWarning});
  }
  if (tail.back() == '/') {
    return kvRaw(404, nullptr, ctx, {invalidKvV2PathWarning(verbFor(req.op))});
  }
  if (head == "data") {
    switch (req.op) {
      case Operation::kRead:
        return readData(tail, req, ctx);
      case Operation::kWrite:
        return writeData(tail, req, ctx);
      case Operation::kPatch:
        return patchData(tail, req, ctx);
      case Operation::kDelete:
        return deleteData(tail, ctx);
      default:
        break;
    }
  } else if (head == "metadata") {
    switch (req.op) {
      case Operation::kRead:
        return readMetadata(tail, ctx);
      case Operation::kWrite:
        return writeMetadata(tail, req, ctx, false);
      case Operation::kPatch:
        return writeMetadata(tail, req, ctx, true);
      case Operation::kDelete:
        keys_.erase(tail);
        return noContent();
      default:
        break;
    }
  } else if (head == "subkeys") {
    if (req.op == Operation::kRead) {
      return readSubkeys(tail, req, ctx);
    }
  } else if (req.op == Operation::kWrite) {
    return versionsOp(head, tail, req, ctx);
  }
  return errorResponse(405, {"unsupported operation"});
}

HttpServerResponse KvV2Engine::readData(const std::string& path, const KvRequest& req,
                                        const KvContext& ctx) {
  int64_t wanted = 0;
  auto vf = req.fields.find("version");
  if (vf != req.fields.end() && !vf->is_null() &&
      !(vf->is_string() && vf->get<std::string>().empty())) {
    auto n = intField(*vf);
    if (!n) {
      return badRequest(absl::StrCat("error converting input ", vf->dump(),
                                     " for field \"version\": cannot parse as int"));
    }
    wanted = *n;
  }
  auto it = keys_.find(path);
  if (it == keys_.end() || it->second.current_version == 0) {
    return notFound();
  }
  const KvKey& key = it->second;
  int64_t version = wanted > 0 ? wanted : key.current_version;
  auto v = key.versions.find(version);
  if (v == key.versions.end()) {
    return notFound();
  }
  nlohmann::json meta = versionMetadata(key, version, false);
  if (v->second.destroyed || isDeleted(v->second, ctx.now)) {
    return kvRaw(404, {{"data", nullptr}, {"metadata", meta}}, ctx);
  }
  return kvOk({{"data", v->second.data}, {"metadata", meta}}, ctx);
}

HttpServerResponse KvV2Engine::commonWrite(const std::string& path, const nlohmann::json& data,
                                           const nlohmann::json& fields, const KvContext& ctx) {
  std::optional<int64_t> cas;
  auto options = fields.find("options");
  if (options != fields.end() && options->is_object()) {
    auto c = options->find("cas");
    if (c != options->end() && !c->is_null()) {
      cas = intField(*c);
      if (!cas) {
        return badRequest("error parsing check-and-set parameter");
      }
    }
  }
  auto version = put(path, data, cas, ctx.now);
  if (!version.ok()) {
    return badRequest(std::string(version.status().message()));
  }
  return kvOk(versionMetadata(keys_.at(path), *version, true), ctx);
}

HttpServerResponse KvV2Engine::writeData(const std::string& path, const KvRequest& req,
                                         const KvContext& ctx) {
  auto data = req.fields.find("data");
  if (data == req.fields.end() || data->is_null()) {
    return badRequest("no data provided");
  }
  if (!data->is_object()) {
    return badRequest("error converting input for field \"data\": expected a map");
  }
  return commonWrite(path, *data, req.fields, ctx);
}

HttpServerResponse KvV2Engine::patchData(const std::string& path, const KvRequest& req,
                                         const KvContext& ctx) {
  auto data = req.fields.find("data");
  if (data == req.fields.end() || data->is_null()) {
    return badRequest("no data provided");
  }
  if (!data->is_object()) {
    return badRequest("error converting input for field \"data\": expected a map");
  }
  auto it = keys_.find(path);
  if (it == keys_.end() || it->second.current_version == 0 ||
      it->second.versions.count(it->second.current_version) == 0) {
    return jsonResponse(404, "");  // RespondWithStatusCode(nil, …): no body at all
  }
  const KvVersion& current = it->second.versions.at(it->second.current_version);
  if (current.destroyed || isDeleted(current, ctx.now)) {
    return kvRaw(404, versionMetadata(it->second, it->second.current_version, true), ctx);
  }
  nlohmann::json merged = current.data.is_object() ? current.data : nlohmann::json::object();
  merged.merge_patch(*data);
  return commonWrite(path, merged, req.fields, ctx);
}

HttpServerResponse KvV2Engine::deleteData(const std::string& path, const KvContext& ctx) {
  auto it = keys_.find(path);
  if (it != keys_.end() && it->second.current_version > 0) {
    (void)deleteVersions(path, {it->second.current_version}, ctx.now);
  }
  return noContent();
}

HttpServerResponse KvV2Engine::versionsOp(const std::string& what, const std::string& path,
                                          const KvRequest& req, const KvContext& ctx) {
  auto versions = parseVersions(req.fields);
  if (!versions) {
    return badRequest("error converting input for field \"versions\"");
  }
  if (versions->empty()) {
    return badRequest(what == "destroy" ? "no version number provided"
                                        : "No version number provided");
  }
  if (what == "delete") {
    (void)deleteVersions(path, *versions, ctx.now);
  } else if (what == "undelete") {
    (void)undeleteVersions(path, *versions, ctx.now);
  } else {
    (void)destroyVersions(path, *versions);
  }
  return noContent();
}

HttpServerResponse KvV2Engine::readMetadata(const std::string& path, const KvContext& ctx) {
  const KvKey* key = findKey(path);
  if (key == nullptr) {
    return notFound();
  }
  nlohmann::json versions = nlohmann::json::object();
  for (const auto& [n, v] : key->versions) {
    versions[std::to_string(n)] = {{"created_time", formatRfc3339Nano(v.created_time)},
                                   {"deletion_time", ts(v.deletion_time)},
                                   {"destroyed", v.destroyed}};
  }
  nlohmann::json d = {
      {"cas_required", key->cas_required},
      {"created_time", formatRfc3339Nano(key->created_time)},
      {"current_version", key->current_version},
      {"custom_metadata", key->custom_metadata.has_value() ? nlohmann::json(*key->custom_metadata)
                                                           : nlohmann::json(nullptr)},
      {"delete_version_after", formatGoDuration(key->delete_version_after)},
      {"max_versions", key->max_versions},
      {"oldest_version", key->oldest_version},
      {"updated_time", formatRfc3339Nano(key->updated_time)},
      {"versions", versions},
  };
  return kvOk(d, ctx);
}

HttpServerResponse KvV2Engine::writeMetadata(const std::string& path, const KvRequest& req,
                                             const KvContext& ctx, bool patch) {
  if (patch && keys_.count(path) == 0) {
    return jsonResponse(404, "");
  }
  const nlohmann::json& f = req.fields;
  std::optional<int64_t> new_max;
  std::optional<bool> new_cas;
  std::optional<std::chrono::seconds> new_after;
  std::optional<nlohmann::json> new_custom;
  if (auto it = f.find("max_versions"); it != f.end() && !it->is_null()) {
    new_max = intField(*it);
    if (!new_max || *new_max < 0) {
      return badRequest("error converting input for field \"max_versions\"");
    }
  }
  if (auto it = f.find("cas_required"); it != f.end() && !it->is_null()) {
    new_cas = boolField(*it);
    if (!new_cas) {
      return badRequest("error converting input for field \"cas_required\"");
    }
  }
  if (auto it = f.find("delete_version_after"); it != f.end() && !it->is_null()) {
    new_after = parseDuration(*it);
    if (!new_after) {
      return badRequest("error converting input for field \"delete_version_after\"");
    }
  }
  if (auto it = f.find("custom_metadata"); it != f.end()) {
    if (!it->is_object() && !it->is_null()) {
      return badRequest("error converting input for field \"custom_metadata\"");
    }
    new_custom = *it;
  }
  KvKey* existing = keys_.count(path) ? &keys_.at(path) : nullptr;
  std::map<std::string, std::string> custom;
  if (patch && existing != nullptr && existing->custom_metadata.has_value()) {
    custom = *existing->custom_metadata;
  }
  if (new_custom.has_value() && new_custom->is_object()) {
    for (auto it = new_custom->begin(); it != new_custom->end(); ++it) {
      if (it->is_null() && patch) {
        custom.erase(it.key());
      } else if (it->is_string()) {
        custom[it.key()] = it->get<std::string>();
      } else {
        return badRequest("error converting input for field \"custom_metadata\"");
      }
    }
    std::string err = validateCustomMetadata(custom);
    if (!err.empty()) {
      return badRequest(err);
    }
  }
  KvKey& key = keyMetadata(path, ctx.now);
  if (new_max) {
    key.max_versions = *new_max;
  }
  if (new_cas) {
    key.cas_required = *new_cas;
  }
  if (new_after) {
    key.delete_version_after = *new_after;
  }
  if (new_custom.has_value()) {
    if (new_custom->is_null() && !patch) {
      key.custom_metadata.reset();
    } else {
      key.custom_metadata = custom;
    }
  }
  key.updated_time = ctx.now;
  return noContent();
}

HttpServerResponse KvV2Engine::listMetadata(const std::string& prefix, const KvRequest& req,
                                            const KvContext& ctx) {
  bool exclude_deleted = false;
  if (auto it = req.fields.find("exclude_deleted"); it != req.fields.end()) {
    exclude_deleted = boolField(*it).value_or(false);
  }
  std::vector<std::string> names;
  for (const auto& [name, key] : keys_) {
    if (exclude_deleted) {
      auto v = key.versions.find(key.current_version);
      if (v == key.versions.end() || v->second.destroyed || isDeleted(v->second, ctx.now)) {
        continue;
      }
    }
    names.push_back(name);
  }
  nlohmann::json keys = listKeys(names, prefix);
  if (keys.empty()) {
    return notFound();
  }
  return kvOk({{"keys", keys}}, ctx);
}

HttpServerResponse KvV2Engine::readSubkeys(const std::string& path, const KvRequest& req,
                                           const KvContext& ctx) {
  int64_t wanted = 0;
  int64_t depth = 0;
  if (auto it = req.fields.find("version"); it != req.fields.end()) {
    wanted = intField(*it).value_or(0);
  }
  if (auto it = req.fields.find("depth"); it != req.fields.end()) {
    depth = intField(*it).value_or(0);
  }
  const KvKey* key = findKey(path);
  if (key == nullptr || key->current_version == 0) {
    return notFound();
  }
  int64_t version = wanted > 0 ? wanted : key->current_version;
  auto v = key->versions.find(version);
  if (v == key->versions.end()) {
    return notFound();
  }
  nlohmann::json meta = versionMetadata(*key, version, false);
  if (v->second.destroyed || isDeleted(v->second, ctx.now)) {
    return kvRaw(404, {{"subkeys", nullptr}, {"metadata", meta}}, ctx);
  }
  return kvOk({{"subkeys", subkeysOf(v->second.data, depth, 1)}, {"metadata", meta}}, ctx);
}

HttpServerResponse KvV2Engine::config(const KvRequest& req, const KvContext& ctx) {
  if (req.op == Operation::kRead) {
    return kvOk({{"cas_required", cas_required},
                 {"delete_version_after", formatGoDuration(delete_version_after)},
                 {"max_versions", max_versions}},
                ctx);
  }
  if (req.op != Operation::kWrite) {
    return errorResponse(405, {"unsupported operation"});
  }
  const nlohmann::json& f = req.fields;
  if (auto it = f.find("max_versions"); it != f.end() && !it->is_null()) {
    auto n = intField(*it);
    if (!n || *n < 0) {
      return badRequest("error converting input for field \"max_versions\"");
    }
    max_versions = *n;
  }
  if (auto it = f.find("cas_required"); it != f.end() && !it->is_null()) {
    auto b = boolField(*it);
    if (!b) {
      return badRequest("error converting input for field \"cas_required\"");
    }
    cas_required = *b;
  }
  if (auto it = f.find("delete_version_after"); it != f.end() && !it->is_null()) {
    auto d = parseDuration(*it);
    if (!d) {
      return badRequest("error converting input for field \"delete_version_after\"");
    }
    delete_version_after = *d;
  }
  return noContent();
}

// ---------------------------------------------------------------------------------------------
// KV v1

std::optional<nlohmann::json> KvV1Engine::get(const std::string& path) const {
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second;
}

HttpServerResponse KvV1Engine::handle(const KvRequest& req, const KvContext& ctx) {
  const std::string& rel = req.rel;
  switch (req.op) {
    case Operation::kList: {
      std::string prefix = rel == "/" ? "" : rel;
      std::vector<std::string> names;
      for (const auto& [name, value] : entries_) {
        names.push_back(name);
      }
      nlohmann::json keys = listKeys(names, prefix);
      if (keys.empty()) {
        return notFound();
      }
      Envelope e;
      e.data = {{"keys", keys}};
      e.mount_type = "kv";
      return envelopeResponse(e, ctx.wire);
    }
    case Operation::kRead: {
      auto it = entries_.find(rel);
      if (rel.empty() || it == entries_.end()) {
        return notFound();
      }
      Envelope e;
      e.data = it->second;
      e.mount_type = "kv";
      e.lease_duration = default_lease_ttl.count();
      if (auto ttl = it->second.find("ttl"); ttl != it->second.end()) {
        if (auto d = parseDuration(*ttl); d.has_value() && d->count() > 0) {
          e.lease_duration = d->count();
        }
      }
      return envelopeResponse(e, ctx.wire);
    }
    case Operation::kWrite: {
      if (rel.empty() || rel.back() == '/') {
        return errorResponse(405, {"unsupported operation"});
      }
      if (!req.fields.is_object() || req.fields.empty()) {
        return badRequest("missing data fields");
      }
      entries_[rel] = req.fields;
      return noContent();
    }
    case Operation::kDelete:
      entries_.erase(rel);
      return noContent();
    case Operation::kPatch:
      break;
  }
  return errorResponse(405, {"unsupported operation"});
}

}  // namespace secretsync::test::vault
