#include "pkg/kube/kube_config.h"

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "pkg/common/absl_view.h"
#include "pkg/common/read_file.h"
#include "pkg/common/status_macros.h"
#include "pkg/common/yaml_json.h"

namespace secretsync::kube {
namespace {

using common::av;
using nlohmann::json;

std::optional<std::string> lookupEnv(const ConfigEnvironment& env, const std::string& name) {
  if (env.getenv) return env.getenv(name);
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// "https://host:port" without trailing slashes, or an error naming `field`.
absl::StatusOr<std::string> checkServer(std::string server, std::string_view field) {
  while (absl::EndsWith(server, "/")) server.pop_back();
  const bool https = absl::StartsWithIgnoreCase(server, "https://");
  if (!https && !absl::StartsWithIgnoreCase(server, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat(av(field), ": the server URL must start with https:// or http://"));
  }
  if (server.size() <= (https ? 8u : 7u) || server.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(av(field), ": not a valid server URL"));
  }
  return server;
}

// Reads one kubeconfig, naming "kubeconfig <path>: <field>" in every error.
class KubeconfigReader {
 public:
  KubeconfigReader(std::string path, std::string context)
      : path_(std::move(path)), context_(std::move(context)) {
    base_dir_ = std::filesystem::path(path_).parent_path().string();
  }

  absl::StatusOr<KubeConfig> read(std::string_view yaml) {
    absl::StatusOr<json> root = common::yamlToJsonSingle(yaml);
    if (!root.ok()) return error("", std::string(root.status().message()));
    if (!root->is_object()) return error("", "the document is not a mapping");

    std::string context_name = context_;
    if (context_name.empty()) {
      ASSIGN_OR_RETURN(context_name, optString(*root, "current-context", "current-context"));
      if (context_name.empty()) {
        return error("current-context", "is not set and no context was given");
      }
    }
    ASSIGN_OR_RETURN(const json* context, findNamed(*root, "contexts", "context", context_name));
    const std::string context_field = absl::StrCat("contexts[name=", context_name, "].context");
    ASSIGN_OR_RETURN(std::string cluster_name,
                     optString(*context, "cluster", context_field + ".cluster"));
    ASSIGN_OR_RETURN(std::string user_name, optString(*context, "user", context_field + ".user"));

    KubeConfig config;
    config.source = absl::StrCat("kubeconfig ", path_, " context ", context_name);
    ASSIGN_OR_RETURN(config.namespace_name,
                     optString(*context, "namespace", context_field + ".namespace"));
    if (cluster_name.empty()) return error(context_field + ".cluster", "is not set");
    ASSIGN_OR_RETURN(const json* cluster, findNamed(*root, "clusters", "cluster", cluster_name));
    RETURN_IF_ERROR(
        readCluster(*cluster, absl::StrCat("clusters[name=", cluster_name, "].cluster"), config));
    if (!user_name.empty()) {
      ASSIGN_OR_RETURN(const json* user, findNamed(*root, "users", "user", user_name));
      RETURN_IF_ERROR(readUser(*user, absl::StrCat("users[name=", user_name, "].user"), config));
    }
    return config;
  }

 private:
  absl::Status error(std::string_view field, std::string_view problem) const {
    if (field.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", path_, ": ", av(problem)));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("kubeconfig ", path_, ": ", av(field), ": ", av(problem)));
  }

  // The string at obj[key]; "" when absent or null.
  absl::StatusOr<std::string> optString(const json& obj, const char* key,
                                        const std::string& field) const {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::string();
    if (!it->is_string()) return error(field, "must be a string");
    return it->get<std::string>();
  }

  absl::StatusOr<bool> optBool(const json& obj, const char* key, const std::string& field) const {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (!it->is_boolean()) return error(field, "must be true or false");
    return it->get<bool>();
  }

  // The `item_key` mapping of the entry named `name` in the sequence root[list_key].
  absl::StatusOr<const json*> findNamed(const json& root, const char* list_key,
                                        const char* item_key, const std::string& name) const {
    const auto list = root.find(list_key);
    if (list == root.end() || list->is_null()) {
      return error(list_key, absl::StrCat("has no entry named \"", name, "\""));
    }
    if (!list->is_array()) return error(list_key, "must be a list");
    for (size_t i = 0; i < list->size(); ++i) {
      const json& entry = (*list)[i];
      const std::string field = absl::StrCat(list_key, "[", i, "]");
      if (!entry.is_object()) return error(field, "must be a mapping");
      ASSIGN_OR_RETURN(const std::string entry_name, optString(entry, "name", field + ".name"));
      if (entry_name != name) continue;
      const auto item = entry.find(item_key);
      if (item == entry.end() || item->is_null()) {
        // An entry with nothing in it: every field at its default.
        static const json* const kEmpty = new json(json::object());
        return kEmpty;
      }
      if (!item->is_object()) {
        return error(absl::StrCat(list_key, "[name=", name, "].", item_key), "must be a mapping");
      }
      return &*item;
    }
    return error(list_key, absl::StrCat("has no entry named \"", name, "\""));
  }

  // A file path from the kubeconfig, relative ones taken from the file's directory; it must be
  // readable now, so a typo shows at start-up rather than at the first TLS handshake.
  absl::StatusOr<std::string> filePath(const std::string& value, const std::string& field) const {
    std::filesystem::path file(value);
    if (file.is_relative() && !base_dir_.empty()) file = std::filesystem::path(base_dir_) / file;
    const std::string resolved = file.lexically_normal().string();
    const std::optional<std::string> content = common::readFile(resolved);
    if (!content.has_value() || content->empty()) {
      return error(field, absl::StrCat("cannot read the file ", resolved, " (or it is empty)"));
    }
    return resolved;
  }

  // Base64 PEM from a *-data field. The content is never quoted in errors: it may be a key.
  absl::StatusOr<std::string> base64Field(const std::string& value,
                                          const std::string& field) const {
    std::string decoded;
    std::string compact = value;
    std::erase_if(compact,
                  [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); });
    if (!absl::Base64Unescape(compact, &decoded) || decoded.empty()) {
      return error(field, "is not valid base64");
    }
    if (decoded.find("-----BEGIN ") == std::string::npos) {
      return error(field, "does not hold PEM data");
    }
    return decoded;
  }

  absl::Status readCluster(const json& cluster, const std::string& field, KubeConfig& config) {
    for (const char* unsupported : {"proxy-url"}) {
      if (cluster.contains(unsupported)) {
        return error(absl::StrCat(field, ".", unsupported), "is not supported");
      }
    }
    ASSIGN_OR_RETURN(std::string server, optString(cluster, "server", field + ".server"));
    if (server.empty()) return error(field + ".server", "is not set");
    absl::StatusOr<std::string> checked = checkServer(std::move(server), field + ".server");
    if (!checked.ok()) return error("", std::string(checked.status().message()));
    config.server = *std::move(checked);

    ASSIGN_OR_RETURN(const std::string ca_data, optString(cluster, "certificate-authority-data",
                                                          field + ".certificate-authority-data"));
    ASSIGN_OR_RETURN(const std::string ca_file,
                     optString(cluster, "certificate-authority", field + ".certificate-authority"));
    ASSIGN_OR_RETURN(config.tls.insecure_skip_verify, optBool(cluster, "insecure-skip-tls-verify",
                                                              field + ".insecure-skip-tls-verify"));
    ASSIGN_OR_RETURN(config.tls.server_name,
                     optString(cluster, "tls-server-name", field + ".tls-server-name"));
    if (!ca_data.empty() && !ca_file.empty()) {
      return error(field, "certificate-authority-data and certificate-authority are both set");
    }
    if (config.tls.insecure_skip_verify && (!ca_data.empty() || !ca_file.empty())) {
      // client-go refuses this too: a CA with verification off is a contradiction.
      return error(field,
                   "insecure-skip-tls-verify cannot be combined with a certificate authority");
    }
    if (!ca_data.empty()) {
      ASSIGN_OR_RETURN(config.tls.ca_pem,
                       base64Field(ca_data, field + ".certificate-authority-data"));
    } else if (!ca_file.empty()) {
      ASSIGN_OR_RETURN(config.tls.ca_file, filePath(ca_file, field + ".certificate-authority"));
    }
    return absl::OkStatus();
  }

  absl::Status readUser(const json& user, const std::string& field, KubeConfig& config) {
    // Silently skipping any of these would talk to the server as someone else (or as nobody).
    static constexpr std::pair<const char*, const char*> kUnsupported[] = {
        {"exec",
         "exec credential plugins are not supported; use token, tokenFile or a client "
         "certificate"},
        {"auth-provider",
         "auth providers are not supported; use token, tokenFile or a client "
         "certificate"},
        {"username", "basic authentication is not supported"},
        {"password", "basic authentication is not supported"},
        {"as", "impersonation is not supported"},
        {"as-uid", "impersonation is not supported"},
        {"as-groups", "impersonation is not supported"},
        {"as-user-extra", "impersonation is not supported"},
    };
    for (const auto& [key, why] : kUnsupported) {
      const auto it = user.find(key);
      if (it != user.end() && !it->is_null()) return error(absl::StrCat(field, ".", key), why);
    }
    ASSIGN_OR_RETURN(std::string token, optString(user, "token", field + ".token"));
    config.token = common::SecretString(std::move(token));
    ASSIGN_OR_RETURN(const std::string token_file,
                     optString(user, "tokenFile", field + ".tokenFile"));
    if (!token_file.empty()) {
      ASSIGN_OR_RETURN(config.token_file, filePath(token_file, field + ".tokenFile"));
    }
    ASSIGN_OR_RETURN(const std::string cert_data, optString(user, "client-certificate-data",
                                                            field + ".client-certificate-data"));
    ASSIGN_OR_RETURN(const std::string cert_file,
                     optString(user, "client-certificate", field + ".client-certificate"));
    ASSIGN_OR_RETURN(const std::string key_data,
                     optString(user, "client-key-data", field + ".client-key-data"));
    ASSIGN_OR_RETURN(const std::string key_file,
                     optString(user, "client-key", field + ".client-key"));
    if (!cert_data.empty() && !cert_file.empty()) {
      return error(field, "client-certificate-data and client-certificate are both set");
    }
    if (!key_data.empty() && !key_file.empty()) {
      return error(field, "client-key-data and client-key are both set");
    }
    const bool has_cert = !cert_data.empty() || !cert_file.empty();
    const bool has_key = !key_data.empty() || !key_file.empty();
    if (has_cert != has_key) {
      return error(field, has_cert ? "a client certificate needs client-key or client-key-data"
                                   : "a client key needs client-certificate or "
                                     "client-certificate-data");
    }
    if (!cert_data.empty()) {
      ASSIGN_OR_RETURN(config.tls.client_cert_pem,
                       base64Field(cert_data, field + ".client-certificate-data"));
    } else if (!cert_file.empty()) {
      ASSIGN_OR_RETURN(config.tls.client_cert_file,
                       filePath(cert_file, field + ".client-certificate"));
    }
    if (!key_data.empty()) {
      ASSIGN_OR_RETURN(std::string key_pem, base64Field(key_data, field + ".client-key-data"));
      config.tls.client_key_pem = common::SecretString(std::move(key_pem));
    } else if (!key_file.empty()) {
      ASSIGN_OR_RETURN(config.tls.client_key_file, filePath(key_file, field + ".client-key"));
    }
    return absl::OkStatus();
  }

  const std::string path_;
  const std::string context_;
  std::string base_dir_;
};

}  // namespace

absl::StatusOr<KubeConfig> inClusterConfig(const ConfigEnvironment& env) {
  const std::string host = lookupEnv(env, "KUBERNETES_SERVICE_HOST").value_or("");
  const std::string port = lookupEnv(env, "KUBERNETES_SERVICE_PORT").value_or("");
  if (host.empty() || port.empty()) {
    return absl::FailedPreconditionError(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
        "set");
  }
  KubeConfig config;
  config.source = "in-cluster";
  // net.JoinHostPort: an IPv6 literal goes in brackets.
  const bool ipv6 = host.find(':') != std::string::npos && !absl::StartsWith(host, "[");
  absl::StatusOr<std::string> server =
      checkServer(absl::StrCat("https://", ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":", port),
                  "KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT");
  if (!server.ok()) return absl::FailedPreconditionError(std::string(server.status().message()));
  config.server = *std::move(server);

  const std::string dir = env.service_account_dir;
  config.token_file = dir + "/token";
  const std::optional<std::string> token = common::readFile(config.token_file);
  if (!token.has_value() || absl::StripAsciiWhitespace(*token).empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("in-cluster: cannot read the service-account token ", config.token_file,
                     " (or it is empty)"));
  }
  config.tls.ca_file = dir + "/ca.crt";
  const std::optional<std::string> ca = common::readFile(config.tls.ca_file);
  if (!ca.has_value() || ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat("in-cluster: cannot read a PEM certificate from ", config.tls.ca_file));
  }
  if (const std::optional<std::string> ns = common::readFile(dir + "/namespace")) {
    config.namespace_name = std::string(absl::StripAsciiWhitespace(*ns));
  }
  return config;
}

absl::StatusOr<KubeConfig> parseKubeconfig(std::string_view yaml, const std::string& path,
                                           const std::string& context) {
  return KubeconfigReader(path, context).read(yaml);
}

absl::StatusOr<KubeConfig> loadKubeconfig(const std::string& path, const std::string& context) {
  const std::optional<std::string> content = common::readFile(path);
  if (!content.has_value()) {
    return absl::NotFoundError(absl::StrCat("kubeconfig ", path, ": cannot read the file"));
  }
  return parseKubeconfig(*content, path, context);
}

std::string defaultKubeconfigPath(const ConfigEnvironment& env) {
  const std::string list = lookupEnv(env, "KUBECONFIG").value_or("");
  for (absl::string_view entry : absl::StrSplit(list, ':')) {
    if (!entry.empty()) return std::string(entry);
  }
  const std::string home = lookupEnv(env, "HOME").value_or("");
  return home.empty() ? std::string() : home + "/.kube/config";
}

absl::StatusOr<KubeConfig> loadDefaultConfig(const std::string& kubeconfig_flag,
                                             const std::string& context,
                                             const ConfigEnvironment& env) {
  if (!kubeconfig_flag.empty()) return loadKubeconfig(kubeconfig_flag, context);
  const std::string from_env = lookupEnv(env, "KUBECONFIG").value_or("");
  if (!from_env.empty()) return loadKubeconfig(defaultKubeconfigPath(env), context);
  absl::StatusOr<KubeConfig> in_cluster = inClusterConfig(env);
  if (in_cluster.ok() || !lookupEnv(env, "KUBERNETES_SERVICE_HOST").value_or("").empty()) {
    // In a cluster, a broken service-account mount is the error to report.
    return in_cluster;
  }
  const std::string home_config = defaultKubeconfigPath(env);
  if (home_config.empty() || !std::filesystem::exists(home_config)) {
    return absl::FailedPreconditionError(
        "no Kubernetes configuration: give --kubeconfig, set KUBECONFIG, run in a cluster, or "
        "create ~/.kube/config");
  }
  return loadKubeconfig(home_config, context);
}

}  // namespace secretsync::kube
