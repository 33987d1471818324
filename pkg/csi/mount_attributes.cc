#include "pkg/csi/mount_attributes.h"

#include <exception>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "pkg/common/absl_view.h"
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

// vault-csi-provider's secretPath is the Vault API path: KV v2 users write "secret/data/app".
// Our store client takes "secret/app" and inserts `data/` itself after finding the mount, so the
// first `data` segment after the first segment is dropped. A KV v1 secret under a folder named
// `data` is the price; the README says so.
std::string dropKvV2DataSegment(std::string path) {
  const std::vector<std::string> segments = absl::StrSplit(av(path), '/');
  for (size_t i = 1; i + 1 < segments.size(); ++i) {
    if (segments[i] == "data") {
      std::vector<std::string> kept;
      for (size_t j = 0; j < segments.size(); ++j) {
        if (j != i) {
          kept.push_back(segments[j]);
        }
      }
      return absl::StrJoin(kept, "/");
    }
  }
  return path;
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
  if (object.object_name.size() > limits.max_object_name_bytes) {
    return objectError(index, "objectName",
                       absl::StrCat("is longer than ", limits.max_object_name_bytes, " bytes"));
  }
  if (absl::Status valid = validateFilePath(object.object_name); !valid.ok()) {
    return objectError(index, "objectName",
                       absl::StrCat("\"", object.object_name, "\" ", std::string(valid.message())));
  }
  const YAML::Node path_node = node["secretPath"];
  if (!path_node.IsDefined() || path_node.IsNull()) {
    return objectError(index, "secretPath", "is required");
  }
  if (!path_node.IsScalar() || path_node.Scalar().empty()) {
    return objectError(index, "secretPath", "must be a non-empty string");
  }
  object.secret_path = path_node.Scalar();
  auto ref = store::parseSecretRef(object.secret_path);
  if (!ref.ok()) {
    return objectError(index, "secretPath", std::string(ref.status().message()));
  }
  if (ref->path.front() == '/' || ref->path.back() == '/') {
    return objectError(index, "secretPath",
                       absl::StrCat("\"", object.secret_path,
                                    "\" must name a secret, without a leading or trailing \"/\""));
  }
  object.ref = *std::move(ref);
  object.ref.path = dropKvV2DataSegment(std::move(object.ref.path));

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
    std::set<std::string> names;
    for (size_t i = 0; i < root.size(); ++i) {
      ASSIGN_OR_RETURN(MountObject object, parseObject(i, root[i], limits));
      if (!names.insert(object.object_name).second) {
        return objectError(i, "objectName",
                           absl::StrCat("\"", object.object_name, "\" is used twice"));
      }
      objects.push_back(std::move(object));
    }
    // "a" and "a/b" cannot both be files.
    for (const std::string& name : names) {
      const auto next = names.upper_bound(name);
      if (next != names.end() && next->size() > name.size() &&
          next->compare(0, name.size(), name) == 0 && (*next)[name.size()] == '/') {
        return attributeError(
            "objects", absl::StrCat("objectName \"", name, "\" is both a file and the folder of \"",
                                    *next, "\""));
      }
    }
    return objects;
  } catch (const std::exception&) {
    // yaml-cpp throws from accessors on malformed trees; a parser never lets one escape.
    return attributeError("objects", "has an unexpected structure");
  }
}

absl::Status parseTokens(const std::string& text, std::string_view where,
                         std::map<std::string, ServiceAccountToken>* out) {
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
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
  if (!order.vault_address.empty() && order.vault_address.rfind("http://", 0) != 0 &&
      order.vault_address.rfind("https://", 0) != 0) {
    return attributeError("vaultAddress", absl::StrCat("\"", order.vault_address,
                                                       "\" must be an http:// or https:// URL"));
  }
  order.vault_namespace = get(attributes, "vaultNamespace");
  const std::string kubernetes_mount = get(attributes, "vaultKubernetesMountPath");
  const std::string auth_mount = get(attributes, "vaultAuthMountPath");
  if (!kubernetes_mount.empty() && !auth_mount.empty()) {
    return attributeError("vaultAuthMountPath",
                          "cannot be set together with vaultKubernetesMountPath");
  }
  order.auth_mount = !auth_mount.empty() ? auth_mount : kubernetes_mount;
  // Users write "auth/kubernetes" as often as "kubernetes"; Vault's login URL wants the latter.
  if (order.auth_mount.rfind("auth/", 0) == 0) {
    order.auth_mount.erase(0, 5);
  }
  while (!order.auth_mount.empty() && order.auth_mount.back() == '/') {
    order.auth_mount.pop_back();
  }
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

  switch (detectDialect(attributes)) {
    case Dialect::kSecretsStoreImport:
      // The SecretsStoreImport dialect needs the Kubernetes client to read the SSI; it plugs in
      // here when that lands.
      return attributeError(kSecretsStoreImportAttribute,
                            "Deckhouse's SecretsStoreImport dialect is not supported yet; use a "
                            "SecretProviderClass with vault-csi-provider parameters");
    case Dialect::kVaultCsiProvider:
      break;
  }
  ASSIGN_OR_RETURN(MountOrder order, parseVaultCsiProvider(attributes, secrets, limits));
  order.permission = mode;
  return order;
}

}  // namespace secretsync::csi
