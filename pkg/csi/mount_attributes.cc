#include "pkg/csi/mount_attributes.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <set>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_wipe.h"
#include "pkg/common/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace secretsync::csi {
namespace {

using common::av;
using Attributes = std::map<std::string, std::string>;

absl::Status attributeError(std::string_view name, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("attribute \"", av(name), "\": ", av(problem)));
}

absl::Status objectError(size_t index, std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("attribute \"objects\": objects[", index, "]",
                                                 field.empty() ? "" : absl::StrCat(".", av(field)),
                                                 ": ", av(problem)));
}

// Parses a JSON object whose values are all strings. `what` names the field in errors; the text
// itself is never quoted back, as `secrets` and the token attribute carry credentials.
absl::StatusOr<Attributes> parseStringMap(std::string_view text, std::string_view what,
                                          size_t max_bytes) {
  Attributes out;
  if (text.empty()) {
    return out;
  }
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(av(what), ": ", text.size(), " bytes is over the limit of ", max_bytes));
  }
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(av(what), ": must be a JSON object of strings"));
  }
  for (const auto& [key, value] : parsed.items()) {
    if (!value.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(av(what), ": the value of \"", key, "\" must be a string"));
    }
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

std::string get(const Attributes& attributes, std::string_view name) {
  const auto it = attributes.find(std::string(name));
  return it == attributes.end() ? std::string() : it->second;
}

// Go's strconv.ParseBool, which vault-csi-provider uses for vaultSkipTLSVerify.
absl::StatusOr<bool> parseGoBool(std::string_view name, std::string_view text) {
  static const std::set<std::string_view> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string_view> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (text.empty() || kFalse.contains(text)) {
    return false;
  }
  if (kTrue.contains(text)) {
    return true;
  }
  return attributeError(name, absl::StrCat("\"", av(text), "\" is not a boolean (true or false)"));
}

// A file mode as YAML writes it: "0600" and "0o600" are octal (as Go's yaml reads them), "0x180"
// hexadecimal, anything else decimal ("384", and the driver's permission "420").
std::optional<uint32_t> parseMode(std::string_view text) {
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.empty() || text.size() > 12) {
    return std::nullopt;
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'O')) {
    base = 8;
    text.remove_prefix(2);
  } else if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text[0] == '0') {
    base = 8;
    text.remove_prefix(1);
  }
  uint64_t value = 0;
  for (const char c : text) {
    int digit = -1;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    }
    if (digit < 0 || digit >= base) {
      return std::nullopt;
    }
    value = value * base + digit;
    if (value > 0xFFFFFFFFu) {
      return std::nullopt;
    }
  }
  return static_cast<uint32_t>(value);
}

// vault-csi-provider's secretPath (and Deckhouse's source.path, which its controller copies into
// one) as a SecretRef: "?version=N" pins a version; the path stays Vault's API path (the provider
// drops KV v2's `data` segment once the store knows the mount's version).
// @return kInvalidArgument with the problem only; callers prefix the field.
absl::StatusOr<store::SecretRef> compileSecretPath(const std::string& secret_path) {
  ASSIGN_OR_RETURN(store::SecretRef ref, store::parseSecretRef(secret_path));
  if (ref.path.front() == '/' || ref.path.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", secret_path, "\" must name a secret, without a leading or trailing \"/\""));
  }
  return ref;
}

// Checks a file name of either dialect: size bound and the driver's path rules.
// @return kInvalidArgument with the problem only; callers prefix the field.
absl::Status checkFileName(const std::string& name, const MountAttributesLimits& limits) {
  if (name.size() > limits.max_object_name_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("is longer than ", limits.max_object_name_bytes, " bytes"));
  }
  if (absl::Status valid = validateFilePath(name); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name, "\" ", std::string(valid.message())));
  }
  return absl::OkStatus();
}

// A name used twice, or used both as a file and as the folder of another ("a" and "a/b").
struct NameConflict {
  size_t index;  // of the entry that clashes
  std::string problem;
};

std::optional<NameConflict> findNameConflict(const std::vector<MountObject>& objects) {
  std::map<std::string, size_t> names;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (!names.emplace(objects[i].object_name, i).second) {
      return NameConflict{i, absl::StrCat("\"", objects[i].object_name, "\" is used twice")};
    }
  }
  for (auto it = names.begin(); it != names.end(); ++it) {
    const std::string& name = it->first;
    const auto next = std::next(it);
    if (next != names.end() && next->first.size() > name.size() &&
        next->first.compare(0, name.size(), name) == 0 && next->first[name.size()] == '/') {
      return NameConflict{
          next->second,
          absl::StrCat("\"", name, "\" is both a file and the folder of \"", next->first, "\"")};
    }
  }
  return std::nullopt;
}

// @return a problem when `name` is not a Kubernetes object name (a DNS subdomain, RFC 1123).
std::optional<std::string> objectNameProblem(const std::string& name) {
  if (name.empty()) {
    return "is empty (name a SecretsStoreImport in the pod's namespace)";
  }
  if (name.size() > 253) {
    return "is longer than 253 characters, the limit of an object name";
  }
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  const bool valid = alnum(name.front()) && alnum(name.back()) &&
                     std::all_of(name.begin(), name.end(),
                                 [&](char c) { return alnum(c) || c == '-' || c == '.'; });
  if (!valid) {
    return absl::StrCat("\"", name,
                        "\" is not an object name (lowercase letters, digits, '-' and '.')");
  }
  return std::nullopt;
}

// Users write "auth/kubernetes" as often as "kubernetes"; Vault's login URL wants the latter.
std::string normalizeAuthMount(std::string mount) {
  if (mount.rfind("auth/", 0) == 0) {
    mount.erase(0, 5);
  }
  while (!mount.empty() && mount.back() == '/') {
    mount.pop_back();
  }
  return mount;
}

// @return a problem when `address` is set and not an http(s) URL.
std::optional<std::string> vaultAddressProblem(const std::string& address) {
  if (address.empty() || address.rfind("http://", 0) == 0 || address.rfind("https://", 0) == 0) {
    return std::nullopt;
  }
  return absl::StrCat("\"", address, "\" must be an http:// or https:// URL");
}

std::optional<std::string> scalar(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) {
    return std::nullopt;
  }
  if (!node.IsScalar()) {
    return std::nullopt;
  }
  return node.Scalar();
}

absl::StatusOr<MountObject> parseObject(size_t index, const YAML::Node& node,
                                        const MountAttributesLimits& limits) {
  if (!node.IsMap()) {
    return objectError(index, "", "must be a mapping with objectName and secretPath");
  }
  MountObject object;
  // Required string fields.
  const YAML::Node name_node = node["objectName"];
  if (!name_node.IsDefined() || name_node.IsNull()) {
    return objectError(index, "objectName", "is required");
  }
  if (!name_node.IsScalar()) {
    return objectError(index, "objectName", "must be a string");
  }
  object.object_name = name_node.Scalar();
  if (absl::Status valid = checkFileName(object.object_name, limits); !valid.ok()) {
    return objectError(index, "objectName", std::string(valid.message()));
  }
  const YAML::Node path_node = node["secretPath"];
  if (!path_node.IsDefined() || path_node.IsNull()) {
    return objectError(index, "secretPath", "is required");
  }
  if (!path_node.IsScalar() || path_node.Scalar().empty()) {
    return objectError(index, "secretPath", "must be a non-empty string");
  }
  object.secret_path = path_node.Scalar();
  auto ref = compileSecretPath(object.secret_path);
  if (!ref.ok()) {
    return objectError(index, "secretPath", std::string(ref.status().message()));
  }
  object.ref = *std::move(ref);

  // Optional fields.
  if (const YAML::Node key = node["secretKey"]; key.IsDefined() && !key.IsNull()) {
    if (!key.IsScalar()) {
      return objectError(index, "secretKey", "must be a string");
    }
    if (!key.Scalar().empty()) {
      object.secret_key = key.Scalar();
    }
  }
  if (const YAML::Node encoding = node["encoding"]; encoding.IsDefined() && !encoding.IsNull()) {
    const std::optional<std::string> text = scalar(encoding);
    if (!text) {
      return objectError(index, "encoding", "must be a string");
    }
    const std::string lower = absl::AsciiStrToLower(*text);
    if (lower.empty() || lower == "utf-8" || lower == "utf8") {
      object.encoding = Encoding::kUtf8;
    } else if (lower == "base64") {
      object.encoding = Encoding::kBase64;
    } else if (lower == "hex") {
      object.encoding = Encoding::kHex;
    } else {
      return objectError(index, "encoding",
                         absl::StrCat("\"", *text, "\" is not one of utf-8, base64, hex"));
    }
  }
  if (const YAML::Node mode = node["filePermission"]; mode.IsDefined() && !mode.IsNull()) {
    const std::optional<std::string> text = scalar(mode);
    const std::optional<uint32_t> bits = text ? parseMode(*text) : std::nullopt;
    if (!bits) {
      return objectError(index, "filePermission",
                         "must be an octal file mode such as 0600 or 0o640");
    }
    if (*bits > 0777) {
      return objectError(index, "filePermission",
                         absl::StrCat("\"", *text, "\" is above 0777 (permission bits only)"));
    }
    object.file_permission = *bits;
  }
  // Dynamic engines (PKI issue, database creds) need PUT/POST with a body: not supported, and
  // silently reading with GET would return something else than asked for.
  if (const YAML::Node method = node["method"]; method.IsDefined() && !method.IsNull()) {
    const std::optional<std::string> text = scalar(method);
    if (!text || !(text->empty() || absl::AsciiStrToUpper(*text) == "GET")) {
      return objectError(index, "method", "only GET (KV reads) is supported");
    }
  }
  if (const YAML::Node args = node["secretArgs"]; args.IsDefined() && !args.IsNull()) {
    return objectError(index, "secretArgs", "is not supported (KV reads take no arguments)");
  }
  return object;
}

absl::StatusOr<std::vector<MountObject>> parseObjects(const std::string& text,
                                                      const MountAttributesLimits& limits) {
  if (text.size() > limits.max_objects_yaml_bytes) {
    return attributeError("objects", absl::StrCat(text.size(), " bytes is over the limit of ",
                                                  limits.max_objects_yaml_bytes));
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return attributeError("objects", absl::StrCat("is not valid YAML (line ", e.mark.line + 1,
                                                  ", column ", e.mark.column + 1, "): ", e.msg));
  } catch (const std::exception&) {
    return attributeError("objects", "is not valid YAML");
  }
  try {
    if (!root.IsSequence()) {
      return attributeError("objects", "must be a YAML list of {objectName, secretPath, ...}");
    }
    if (root.size() == 0) {
      return attributeError("objects", "lists no object");
    }
    if (root.size() > limits.max_objects) {
      return attributeError(
          "objects",
          absl::StrCat("lists ", root.size(), " objects, over the limit of ", limits.max_objects));
    }
    std::vector<MountObject> objects;
    for (size_t i = 0; i < root.size(); ++i) {
      ASSIGN_OR_RETURN(MountObject object, parseObject(i, root[i], limits));
      objects.push_back(std::move(object));
    }
    if (const std::optional<NameConflict> conflict = findNameConflict(objects)) {
      return objectError(conflict->index, "objectName", conflict->problem);
    }
    return objects;
  } catch (const std::exception&) {
    // yaml-cpp throws from accessors on malformed trees; a parser never lets one escape.
    return attributeError("objects", "has an unexpected structure");
  }
}

absl::Status parseTokens(const std::string& text, std::string_view where,
                         std::map<std::string, ServiceAccountToken>* out) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  // The parsed copy holds every token the kubelet sent: zeroed once each is in a SecretString.
  absl::Cleanup wipe_parsed = [&parsed] { common::wipeJsonStrings(parsed); };
  const std::string name = absl::StrCat(av(where), " ", av(kServiceAccountTokensAttribute));
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name,
                     ": must be a JSON object {\"<audience>\": {\"token\": ..., "
                     "\"expirationTimestamp\": ...}}"));
  }
  for (const auto& [audience, entry] : parsed.items()) {
    if (!entry.is_object() || !entry.contains("token") || !entry["token"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": the entry for audience \"", audience,
                                                     "\" has no \"token\" string"));
    }
    ServiceAccountToken token;
    token.token = common::SecretString(entry["token"].get<std::string>());
    if (entry.contains("expirationTimestamp") && entry["expirationTimestamp"].is_string()) {
      token.expiration_timestamp = entry["expirationTimestamp"].get<std::string>();
    }
    (*out)[audience] = std::move(token);
  }
  return absl::OkStatus();
}

// Reads a SecretsStoreImport's fields with the type checks the API server's schema makes, so an
// object written past the CRD (or a different CRD version) fails by field, never by exception.
class SecretsStoreImportReader {
 public:
  explicit SecretsStoreImportReader(const MountOrder& order)
      : prefix_(absl::StrCat("SecretsStoreImport \"", order.pod.namespace_name, "/",
                             order.secrets_store_import, "\": ")) {}

  absl::Status error(std::string_view field, std::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(prefix_, av(field), ": ", av(problem)));
  }

  // @return the string at `key`, nullopt when absent or null.
  absl::StatusOr<std::optional<std::string>> string(const nlohmann::json& parent,
                                                    std::string_view key,
                                                    std::string_view field) const {
    const auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) {
      return std::optional<std::string>();
    }
    if (!it->is_string()) {
      return error(field, "must be a string");
    }
    return std::optional<std::string>(it->get<std::string>());
  }

  // @return the boolean at `key`, false when absent or null.
  absl::StatusOr<bool> boolean(const nlohmann::json& parent, std::string_view key,
                               std::string_view field) const {
    const auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) {
      return false;
    }
    if (!it->is_boolean()) {
      return error(field, "must be true or false");
    }
    return it->get<bool>();
  }

 private:
  const std::string prefix_;
};

// The CRD's pattern for spec.role: ^[-_\\.a-zA-Z0-9]+$.
bool isRoleName(const std::string& role) {
  return !role.empty() && std::all_of(role.begin(), role.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

absl::StatusOr<MountObject> parseSecretsStoreImportFile(const SecretsStoreImportReader& reader,
                                                        size_t index, const nlohmann::json& file,
                                                        const MountAttributesLimits& limits) {
  const std::string field = absl::StrCat("spec.files[", index, "]");
  if (!file.is_object()) {
    return reader.error(field, "must be an object with name and source");
  }
  MountObject object;
  ASSIGN_OR_RETURN(const std::optional<std::string> name,
                   reader.string(file, "name", absl::StrCat(field, ".name")));
  if (!name) {
    return reader.error(absl::StrCat(field, ".name"), "is required (the file name)");
  }
  if (absl::Status valid = checkFileName(*name, limits); !valid.ok()) {
    return reader.error(absl::StrCat(field, ".name"), std::string(valid.message()));
  }
  object.object_name = *name;
  ASSIGN_OR_RETURN(const bool decode_base64,
                   reader.boolean(file, "decodeBase64", absl::StrCat(field, ".decodeBase64")));
  object.encoding = decode_base64 ? Encoding::kBase64 : Encoding::kUtf8;
  const auto source = file.find("source");
  if (source == file.end() || !source->is_object()) {
    return reader.error(absl::StrCat(field, ".source"),
                        "is required (an object with path and key)");
  }
  ASSIGN_OR_RETURN(const std::optional<std::string> path,
                   reader.string(*source, "path", absl::StrCat(field, ".source.path")));
  if (!path || path->empty()) {
    return reader.error(absl::StrCat(field, ".source.path"),
                        "is required (the KV path, e.g. secret/data/app)");
  }
  object.secret_path = *path;
  absl::StatusOr<store::SecretRef> ref = compileSecretPath(*path);
  if (!ref.ok()) {
    return reader.error(absl::StrCat(field, ".source.path"), std::string(ref.status().message()));
  }
  object.ref = *std::move(ref);
  ASSIGN_OR_RETURN(const std::optional<std::string> key,
                   reader.string(*source, "key", absl::StrCat(field, ".source.key")));
  if (key && !key->empty()) {
    object.secret_key = *key;
  }
  return object;
}

absl::Status applySecretsStoreImportSpec(const SecretsStoreImportReader& reader,
                                         const nlohmann::json& object,
                                         const MountAttributesLimits& limits, MountOrder* order) {
  if (!object.is_object()) {
    return reader.error("object", "is not a JSON object");
  }
  const auto spec = object.find("spec");
  if (spec == object.end() || !spec->is_object()) {
    return reader.error("spec", "is required (an object with type, role and files)");
  }
  ASSIGN_OR_RETURN(const std::optional<std::string> type,
                   reader.string(*spec, "type", "spec.type"));
  if (!type) {
    return reader.error("spec.type", "is required (CSI)");
  }
  if (*type != "CSI") {
    return reader.error("spec.type", absl::StrCat("\"", *type, "\" is not supported (only CSI)"));
  }
  ASSIGN_OR_RETURN(const std::optional<std::string> role,
                   reader.string(*spec, "role", "spec.role"));
  if (!role || role->empty()) {
    return reader.error("spec.role", "is required (the Vault auth role to log in as)");
  }
  if (!isRoleName(*role)) {
    return reader.error(
        "spec.role", absl::StrCat("\"", *role, "\" may hold only letters, digits, '-', '_', '.'"));
  }
  ASSIGN_OR_RETURN(const std::optional<std::string> auth_path,
                   reader.string(*spec, "authPath", "spec.authPath"));
  ASSIGN_OR_RETURN(const std::optional<std::string> vault_namespace,
                   reader.string(*spec, "namespace", "spec.namespace"));
  ASSIGN_OR_RETURN(const std::optional<std::string> address,
                   reader.string(*spec, "address", "spec.address"));
  if (address) {
    if (const auto problem = vaultAddressProblem(*address)) {
      return reader.error("spec.address", *problem);
    }
  }
  ASSIGN_OR_RETURN(const std::optional<std::string> ca_cert,
                   reader.string(*spec, "caCert", "spec.caCert"));
  if (ca_cert && !ca_cert->empty()) {
    return reader.error("spec.caCert",
                        "is not supported yet: leave it unset, the provider's --vault-ca-file "
                        "is used");
  }
  ASSIGN_OR_RETURN(const std::optional<std::string> audience,
                   reader.string(*spec, "audience", "spec.audience"));
  ASSIGN_OR_RETURN(const bool skip_tls_verify,
                   reader.boolean(*spec, "skipTLSVerify", "spec.skipTLSVerify"));

  const auto files = spec->find("files");
  if (files == spec->end() || !files->is_array() || files->empty()) {
    return reader.error("spec.files", "is required (a non-empty list of files)");
  }
  if (files->size() > limits.max_objects) {
    return reader.error(
        "spec.files",
        absl::StrCat("lists ", files->size(), " files, over the limit of ", limits.max_objects));
  }
  std::vector<MountObject> objects;
  for (size_t i = 0; i < files->size(); ++i) {
    ASSIGN_OR_RETURN(MountObject file, parseSecretsStoreImportFile(reader, i, (*files)[i], limits));
    objects.push_back(std::move(file));
  }
  if (const std::optional<NameConflict> conflict = findNameConflict(objects)) {
    return reader.error(absl::StrCat("spec.files[", conflict->index, "].name"), conflict->problem);
  }

  order->role_name = *role;
  order->auth_mount = normalizeAuthMount(auth_path.value_or(""));
  order->vault_namespace = vault_namespace.value_or("");
  order->vault_address = address.value_or("");
  order->audience = audience.value_or("");
  order->skip_tls_verify = skip_tls_verify;
  order->objects = std::move(objects);
  return absl::OkStatus();
}

// The pod the driver names and its service-account tokens; common to both dialects.
absl::Status parsePodAndTokens(const Attributes& attributes, const Attributes& secrets,
                               MountOrder* out) {
  MountOrder& order = *out;
  order.pod.name = get(attributes, kPodNameAttribute);
  order.pod.namespace_name = get(attributes, kPodNamespaceAttribute);
  order.pod.uid = get(attributes, kPodUidAttribute);
  order.pod.service_account = get(attributes, kServiceAccountNameAttribute);
  if (order.pod.namespace_name.empty()) {
    return attributeError(kPodNamespaceAttribute,
                          "is missing (the CSIDriver needs podInfoOnMount: true)");
  }
  if (order.pod.service_account.empty()) {
    return attributeError(kServiceAccountNameAttribute,
                          "is missing (the CSIDriver needs podInfoOnMount: true)");
  }

  // Kubernetes >= 1.35 moves the tokens into `secrets`; the driver prefers that copy.
  const std::string in_attributes = get(attributes, kServiceAccountTokensAttribute);
  const std::string in_secrets = get(secrets, kServiceAccountTokensAttribute);
  if (!in_attributes.empty()) {
    RETURN_IF_ERROR(parseTokens(in_attributes, "attribute", &order.service_account_tokens));
  }
  if (!in_secrets.empty()) {
    RETURN_IF_ERROR(parseTokens(in_secrets, "secret", &order.service_account_tokens));
  }
  return absl::OkStatus();
}

absl::StatusOr<MountOrder> parseVaultCsiProvider(const Attributes& attributes,
                                                 const Attributes& secrets,
                                                 const MountAttributesLimits& limits) {
  MountOrder order;
  order.dialect = Dialect::kVaultCsiProvider;
  order.secret_provider_class = get(attributes, kSecretProviderClassAttribute);
  order.role_name = get(attributes, "roleName");
  if (order.role_name.empty()) {
    return attributeError("roleName", "is required (the Vault auth role to log in as)");
  }
  order.vault_address = get(attributes, "vaultAddress");
  if (const auto problem = vaultAddressProblem(order.vault_address)) {
    return attributeError("vaultAddress", *problem);
  }
  order.vault_namespace = get(attributes, "vaultNamespace");
  const std::string kubernetes_mount = get(attributes, "vaultKubernetesMountPath");
  const std::string auth_mount = get(attributes, "vaultAuthMountPath");
  if (!kubernetes_mount.empty() && !auth_mount.empty()) {
    return attributeError("vaultAuthMountPath",
                          "cannot be set together with vaultKubernetesMountPath");
  }
  order.auth_mount = normalizeAuthMount(!auth_mount.empty() ? auth_mount : kubernetes_mount);
  order.ca_cert_path = get(attributes, "vaultCACertPath");
  order.tls_server_name = get(attributes, "vaultTLSServerName");
  ASSIGN_OR_RETURN(order.skip_tls_verify,
                   parseGoBool("vaultSkipTLSVerify", get(attributes, "vaultSkipTLSVerify")));
  order.audience = get(attributes, "audience");
  for (const char* unsupported :
       {"vaultCADirectory", "vaultTLSClientCertPath", "vaultTLSClientKeyPath", "vaultCACert"}) {
    if (!get(attributes, unsupported).empty()) {
      return attributeError(unsupported, "is not supported yet");
    }
  }

  const std::string objects = get(attributes, "objects");
  if (objects.empty()) {
    return attributeError("objects", "is required (a YAML list of objectName/secretPath)");
  }
  ASSIGN_OR_RETURN(order.objects, parseObjects(objects, limits));
  RETURN_IF_ERROR(parsePodAndTokens(attributes, secrets, &order));
  return order;
}

// The SecretsStoreImport dialect: everything but the pod and its tokens is in the object.
absl::StatusOr<MountOrder> parseSecretsStoreImportAttributes(const Attributes& attributes,
                                                             const Attributes& secrets) {
  MountOrder order;
  order.dialect = Dialect::kSecretsStoreImport;
  order.secrets_store_import = get(attributes, kSecretsStoreImportAttribute);
  if (const auto problem = objectNameProblem(order.secrets_store_import)) {
    return attributeError(kSecretsStoreImportAttribute, *problem);
  }
  RETURN_IF_ERROR(parsePodAndTokens(attributes, secrets, &order));
  return order;
}

}  // namespace

absl::Status validateFilePath(std::string_view path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("is empty");
  }
  if (path.front() == '/') {
    return absl::InvalidArgumentError("must be a relative path");
  }
  if (path.rfind("..", 0) == 0) {
    return absl::InvalidArgumentError("must not start with \"..\" (reserved by the driver)");
  }
  if (path.back() == '/') {
    return absl::InvalidArgumentError("must not end with \"/\"");
  }
  if (path.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("must not contain a NUL byte");
  }
  for (const absl::string_view segment : absl::StrSplit(av(path), '/')) {
    if (segment.empty() || segment == ".") {
      return absl::InvalidArgumentError("must be a clean path (no \"//\" or \".\" segment)");
    }
    if (segment == "..") {
      return absl::InvalidArgumentError("must not contain a \"..\" segment");
    }
  }
  return absl::OkStatus();
}

Dialect detectDialect(const Attributes& attributes) {
  return attributes.contains(std::string(kSecretsStoreImportAttribute))
             ? Dialect::kSecretsStoreImport
             : Dialect::kVaultCsiProvider;
}

absl::StatusOr<MountOrder> parseMountRequest(std::string_view attributes_json,
                                             std::string_view secrets_json,
                                             std::string_view permission,
                                             const MountAttributesLimits& limits) {
  if (attributes_json.empty()) {
    return absl::InvalidArgumentError("attributes: empty (the driver always sends parameters)");
  }
  ASSIGN_OR_RETURN(const Attributes attributes,
                   parseStringMap(attributes_json, "attributes", limits.max_input_bytes));
  ASSIGN_OR_RETURN(const Attributes secrets,
                   parseStringMap(secrets_json, "secrets", limits.max_input_bytes));

  std::optional<uint32_t> mode;
  if (!permission.empty()) {
    // A JSON number: the decimal value of a Go os.FileMode.
    uint32_t value = 0;
    if (!absl::SimpleAtoi(av(permission), &value) || value > 0777) {
      return absl::InvalidArgumentError(absl::StrCat(
          "permission: \"", av(permission), "\" is not a decimal file mode from 0 to 511 (0777)"));
    }
    mode = value;
  }

  MountOrder order;
  switch (detectDialect(attributes)) {
    case Dialect::kSecretsStoreImport: {
      ASSIGN_OR_RETURN(order, parseSecretsStoreImportAttributes(attributes, secrets));
      break;
    }
    case Dialect::kVaultCsiProvider: {
      ASSIGN_OR_RETURN(order, parseVaultCsiProvider(attributes, secrets, limits));
      break;
    }
  }
  order.permission = mode;
  return order;
}

absl::Status applySecretsStoreImport(const nlohmann::json& object,
                                     const MountAttributesLimits& limits, MountOrder* order) {
  if (order->dialect != Dialect::kSecretsStoreImport) {
    return absl::InvalidArgumentError("the mount does not name a SecretsStoreImport");
  }
  return applySecretsStoreImportSpec(SecretsStoreImportReader(*order), object, limits, order);
}

}  // namespace secretsync::csi
