#include "test/support/kube_double/object_validation.h"

#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace secretsync::test::kube {

namespace {

constexpr char kSubdomainRegex[] =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr char kLabelRegex[] = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr char kQualifiedNameRegex[] = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr size_t kMaxSecretBytes = 1 << 20;
constexpr size_t kMaxAnnotationBytes = 256 << 10;

bool fullMatch(const std::string& s, const char* pattern) {
  // std::regex on hostile input: lengths are bounded by the callers before matching.
  return std::regex_match(s, std::regex(pattern));
}

bool isQualifiedName(const std::string& key) {
  std::string name = key;
  size_t slash = key.find('/');
  if (slash != std::string::npos) {
    std::string prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!isDnsSubdomain(prefix)) {
      return false;
    }
  }
  return !name.empty() && name.size() <= 63 && fullMatch(name, kQualifiedNameRegex);
}

bool isLabelValue(const std::string& v) {
  return v.empty() || (v.size() <= 63 && fullMatch(v, kQualifiedNameRegex));
}

bool isConfigMapKey(const std::string& key) {
  if (key.empty() || key.size() > 253 || key == "." || key == ".." || key.rfind("..", 0) == 0) {
    return false;
  }
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::string quoted(const nlohmann::json& v) {
  return v.is_string() ? absl::StrCat("\"", v.get<std::string>(), "\"") : v.dump();
}

}  // namespace

bool isDnsSubdomain(const std::string& name) {
  return !name.empty() && name.size() <= 253 && fullMatch(name, kSubdomainRegex);
}

bool isDnsLabel(const std::string& name) {
  return !name.empty() && name.size() <= 63 && fullMatch(name, kLabelRegex);
}

std::optional<std::string> decodeStdBase64(const std::string& in) {
  if (in.size() % 4 != 0) {
    return std::nullopt;
  }
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') {
      if (i + 2 < in.size()) {
        return std::nullopt;
      }
      ++pad;
      continue;
    }
    if (pad > 0 || !(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) {
      return std::nullopt;
    }
  }
  std::string out;
  if (!absl::Base64Unescape(in, &out)) {
    return std::nullopt;
  }
  return out;
}

std::vector<StatusCause> validateObjectMeta(const nlohmann::json& object, bool namespaced,
                                            bool name_is_label) {
  std::vector<StatusCause> causes;
  const nlohmann::json& meta = object.contains("metadata") && object["metadata"].is_object()
                                   ? object["metadata"]
                                   : nlohmann::json::object();
  std::string name = meta.value("name", "");
  if (name.empty()) {
    causes.push_back(
        fieldCause("FieldValueRequired", "metadata.name", "name or generateName is required"));
  } else if (name_is_label ? !isDnsLabel(name) : !isDnsSubdomain(name)) {
    causes.push_back(fieldCause(
        "FieldValueInvalid", "metadata.name",
        absl::StrCat(
            "\"", name, "\": ",
            name_is_label
                ? absl::StrCat("a lowercase RFC 1123 label must consist of lower case "
                               "alphanumeric characters or '-', and must start and end with an "
                               "alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
                               "used for validation is '",
                               kLabelRegex, "')")
                : absl::StrCat("a lowercase RFC 1123 subdomain must consist of lower case "
                               "alphanumeric characters, '-' or '.', and must start and end "
                               "with an alphanumeric character (e.g. 'example.com', regex used "
                               "for validation is '",
                               kSubdomainRegex, "')"))));
  }
  (void)namespaced;
  if (meta.contains("labels") && !meta["labels"].is_null()) {
    if (!meta["labels"].is_object()) {
      causes.push_back(fieldCause("FieldValueInvalid", "metadata.labels", "must be a map"));
    } else {
      for (const auto& [k, v] : meta["labels"].items()) {
        if (!isQualifiedName(k)) {
          causes.push_back(fieldCause("FieldValueInvalid", "metadata.labels",
                                      absl::StrCat("\"", k, "\": name part must be valid")));
        }
        if (!v.is_string() || !isLabelValue(v.get<std::string>())) {
          causes.push_back(fieldCause("FieldValueInvalid", "metadata.labels",
                                      absl::StrCat(quoted(v),
                                                   ": a valid label must be an empty "
                                                   "string or consist of "
                                                   "alphanumeric characters")));
        }
      }
    }
  }
  if (meta.contains("annotations") && !meta["annotations"].is_null()) {
    size_t total = 0;
    if (!meta["annotations"].is_object()) {
      causes.push_back(fieldCause("FieldValueInvalid", "metadata.annotations", "must be a map"));
    } else {
      for (const auto& [k, v] : meta["annotations"].items()) {
        total += k.size() + (v.is_string() ? v.get<std::string>().size() : 0);
        if (!v.is_string()) {
          causes.push_back(fieldCause("FieldValueInvalid", "metadata.annotations",
                                      absl::StrCat(quoted(v), ": must be a string")));
        }
      }
      if (total > kMaxAnnotationBytes) {
        causes.push_back(fieldCause("FieldValueTooLong", "metadata.annotations",
                                    "must have at most 262144 bytes"));
      }
    }
  }
  if (meta.contains("ownerReferences") && !meta["ownerReferences"].is_null()) {
    int controllers = 0;
    if (!meta["ownerReferences"].is_array()) {
      causes.push_back(
          fieldCause("FieldValueInvalid", "metadata.ownerReferences", "must be a list"));
    } else {
      for (const auto& ref : meta["ownerReferences"]) {
        for (const char* field : {"apiVersion", "kind", "name", "uid"}) {
          if (!ref.is_object() || !ref.contains(field) || !ref[field].is_string() ||
              ref[field].get<std::string>().empty()) {
            causes.push_back(fieldCause("FieldValueInvalid",
                                        absl::StrCat("metadata.ownerReferences.", field),
                                        absl::StrCat("\"\": ", field, " must not be empty")));
          }
        }
        if (ref.is_object() && ref.value("controller", false)) {
          ++controllers;
        }
      }
      if (controllers > 1) {
        causes.push_back(fieldCause("FieldValueInvalid", "metadata.ownerReferences",
                                    "Only one reference can have Controller set to true"));
      }
    }
  }
  return causes;
}

std::vector<StatusCause> normalizeAndValidateSecret(nlohmann::json& secret,
                                                    const nlohmann::json* old) {
  std::vector<StatusCause> causes;
  if (!secret.contains("data") || secret["data"].is_null()) {
    secret["data"] = nlohmann::json::object();
  }
  if (!secret["data"].is_object()) {
    causes.push_back(fieldCause("FieldValueInvalid", "data", "must be a map"));
    return causes;
  }
  if (secret.contains("stringData")) {
    const nlohmann::json& sd = secret["stringData"];
    if (sd.is_object()) {
      for (const auto& [k, v] : sd.items()) {
        if (!v.is_string()) {
          causes.push_back(
              fieldCause("FieldValueInvalid", absl::StrCat("stringData[", k, "]"), "not a string"));
          continue;
        }
        secret["data"][k] = absl::Base64Escape(v.get<std::string>());
      }
    } else if (!sd.is_null()) {
      causes.push_back(fieldCause("FieldValueInvalid", "stringData", "must be a map"));
    }
    secret.erase("stringData");
  }
  if (!secret.contains("type") || !secret["type"].is_string() ||
      secret["type"].get<std::string>().empty()) {
    secret["type"] = old != nullptr && old->contains("type") ? (*old)["type"] : "Opaque";
  }
  size_t total = 0;
  for (const auto& [k, v] : secret["data"].items()) {
    if (!isConfigMapKey(k)) {
      causes.push_back(fieldCause(
          "FieldValueInvalid", absl::StrCat("data[", k, "]"),
          absl::StrCat("\"", k,
                       "\": a valid config key must consist of alphanumeric characters, '-', '_' "
                       "or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                       "validation is '[-._a-zA-Z0-9]+')")));
    }
    std::optional<std::string> decoded =
        v.is_string() ? decodeStdBase64(v.get<std::string>()) : std::nullopt;
    if (!decoded.has_value()) {
      causes.push_back(
          fieldCause("FieldValueInvalid", absl::StrCat("data[", k, "]"), "illegal base64 data"));
      continue;
    }
    total += decoded->size();
  }
  if (total > kMaxSecretBytes) {
    causes.push_back(fieldCause("FieldValueTooLong", "data", "may not be more than 1048576 bytes"));
  }
  const std::string type = secret["type"].get<std::string>();
  const nlohmann::json& data = secret["data"];
  auto require = [&](const char* key) {
    if (!data.contains(key)) {
      causes.push_back(fieldCause("FieldValueRequired", absl::StrCat("data[", key, "]"), ""));
    }
  };
  if (type == "kubernetes.io/tls") {
    require("tls.crt");
    require("tls.key");
  } else if (type == "kubernetes.io/dockerconfigjson" || type == "kubernetes.io/dockercfg") {
    const char* key = type == "kubernetes.io/dockercfg" ? ".dockercfg" : ".dockerconfigjson";
    require(key);
    if (data.contains(key) && data[key].is_string()) {
      auto raw = decodeStdBase64(data[key].get<std::string>());
      auto parsed = nlohmann::json::parse(raw.value_or(""), nullptr, false);
      if (!parsed.is_object()) {
        causes.push_back(fieldCause("FieldValueInvalid", absl::StrCat("data[", key, "]"),
                                    "<secret contents redacted>: invalid character"));
      }
    }
  } else if (type == "kubernetes.io/basic-auth") {
    if (!data.contains("username") && !data.contains("password")) {
      causes.push_back(fieldCause("FieldValueRequired", "data[username]", ""));
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    if (!data.contains("ssh-privatekey") || data["ssh-privatekey"] == "") {
      causes.push_back(fieldCause("FieldValueRequired", "data[ssh-privatekey]", ""));
    }
  }
  if (old != nullptr) {
    if (old->value("type", "Opaque") != type) {
      causes.push_back(fieldCause("FieldValueInvalid", "type",
                                  absl::StrCat("\"", type, "\": field is immutable")));
    }
    if (old->value("immutable", false)) {
      if (!secret.value("immutable", false)) {
        causes.push_back(fieldCause("FieldValueForbidden", "immutable",
                                    "field is immutable when `immutable` is set"));
      }
      if (old->value("data", nlohmann::json::object()) != data) {
        causes.push_back(fieldCause("FieldValueForbidden", "data",
                                    "field is immutable when `immutable` is set"));
      }
    }
  }
  return causes;
}

std::vector<StatusCause> validateEvent(const nlohmann::json& event, const std::string& group) {
  std::vector<StatusCause> causes;
  if (group == "events.k8s.io") {
    for (const char* field :
         {"eventTime", "reportingController", "reportingInstance", "action", "reason"}) {
      if (!event.contains(field) || !event[field].is_string() ||
          event[field].get<std::string>().empty()) {
        causes.push_back(fieldCause("FieldValueRequired", field, ""));
      }
    }
  } else {
    if (!event.contains("involvedObject") || !event["involvedObject"].is_object()) {
      causes.push_back(fieldCause("FieldValueRequired", "involvedObject", ""));
    }
  }
  std::string type = event.value("type", "");
  if (!type.empty() && type != "Normal" && type != "Warning") {
    causes.push_back(
        fieldCause("FieldValueNotSupported", "type",
                   absl::StrCat("\"", type, "\": supported values: \"Normal\", \"Warning\"")));
  }
  return causes;
}

}  // namespace secretsync::test::kube
