#include "cmd/secretsync/check_command.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "cmd/secretsync/process_setup.h"
#include "pkg/common/flags.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/log.h"
#include "pkg/common/read_file.h"
#include "pkg/store/vault/jwt_source.h"
#include "pkg/store/vault/vault_store.h"

namespace secretsync::cmd {
namespace {

namespace vault = store::vault;

constexpr LoggingDefaults kCheckLogging{.level = common::log::Level::kWarn,
                                        .format = common::log::Format::kText};

const std::vector<common::FlagSpec>& checkFlags() {
  static const auto* const kFlags = new std::vector<common::FlagSpec>(withLoggingFlags(
      {
          {.name = "address", .help = "store address (default $BAO_ADDR, then $VAULT_ADDR)"},
          {.name = "namespace", .help = "Vault namespace (default $VAULT_NAMESPACE)"},
          {.name = "ca-file", .help = "PEM CA bundle to verify the server (default $VAULT_CACERT)"},
          {.name = "client-cert", .help = "PEM client certificate file for mutual TLS"},
          {.name = "client-key", .help = "PEM client key file for mutual TLS"},
          {.name = "tls-server-name", .help = "name to verify the server certificate against"},
          {.name = "tls-skip-verify",
           .help = "do not verify the server (never in production)",
           .boolean = true},
          {.name = "auth", .help = "token | kubernetes | approle | jwt (default token)"},
          {.name = "token-file", .help = "file holding the token (default $VAULT_TOKEN)"},
          {.name = "auth-mount",
           .help = "auth mount (default kubernetes, approle or jwt; Stronghold: kubernetes_local)"},
          {.name = "role", .help = "role for kubernetes and jwt auth"},
          {.name = "jwt-file",
           .help = "JWT for kubernetes/jwt auth (default the pod's service-account token)"},
          {.name = "role-id", .help = "AppRole role_id"},
          {.name = "secret-id-file", .help = "file holding the AppRole secret_id"},
          {.name = "kv-version", .help = "auto | 1 | 2 (default auto: ask the server)"},
          {.name = "path",
           .help = "secret to read, \"mount/path\" or \"mount/path?version=N\"",
           .repeated = true},
          {.name = "list", .help = "folder to list recursively", .repeated = true},
      },
      kCheckLogging));
  return *kFlags;
}

std::string envOr(const char* first, const char* second = nullptr) {
  for (const char* name : {first, second}) {
    if (name != nullptr && std::getenv(name) != nullptr) {
      return std::getenv(name);
    }
  }
  return "";
}

absl::StatusOr<common::SecretString> readSecretFile(const std::string& flag,
                                                    const std::string& path) {
  std::optional<std::string> content = common::readFile(path);
  if (!content.has_value()) {
    return absl::InvalidArgumentError("--" + flag + ": cannot read \"" + path + "\"");
  }
  return common::SecretString(std::string(absl::StripAsciiWhitespace(*content)));
}

absl::StatusOr<vault::AuthConfig> authFromFlags(const common::ParsedFlags& flags) {
  const std::string method = flags.get("auth", "token");
  const auto mount = [&](const char* fallback) { return flags.get("auth-mount", fallback); };
  const auto jwt = [&] {
    return vault::makeFileJwtSource(
        flags.get("jwt-file", "/var/run/secrets/kubernetes.io/serviceaccount/token"));
  };
  if (method == "token") {
    common::SecretString token(envOr("BAO_TOKEN", "VAULT_TOKEN"));
    if (flags.has("token-file")) {
      auto from_file = readSecretFile("token-file", flags.get("token-file"));
      if (!from_file.ok()) {
        return from_file.status();
      }
      token = *std::move(from_file);
    }
    return vault::TokenAuthConfig{std::move(token)};
  }
  if (method == "kubernetes") {
    return vault::KubernetesAuthConfig{mount("kubernetes"), flags.get("role"), jwt()};
  }
  if (method == "jwt") {
    return vault::JwtAuthConfig{mount("jwt"), flags.get("role"), jwt()};
  }
  if (method == "approle") {
    common::SecretString secret_id;
    if (flags.has("secret-id-file")) {
      auto from_file = readSecretFile("secret-id-file", flags.get("secret-id-file"));
      if (!from_file.ok()) {
        return from_file.status();
      }
      secret_id = *std::move(from_file);
    }
    return vault::AppRoleAuthConfig{mount("approle"), flags.get("role-id"), std::move(secret_id)};
  }
  return absl::InvalidArgumentError("--auth: \"" + method +
                                    "\" is not one of token, kubernetes, approle, jwt");
}

absl::StatusOr<vault::VaultStoreConfig> configFromFlags(const common::ParsedFlags& flags) {
  vault::VaultStoreConfig config;
  config.address = flags.get("address", envOr("BAO_ADDR", "VAULT_ADDR"));
  config.vault_namespace = flags.get("namespace", envOr("BAO_NAMESPACE", "VAULT_NAMESPACE"));
  config.tls.ca_file = flags.get("ca-file", envOr("BAO_CACERT", "VAULT_CACERT"));
  config.tls.client_cert_file = flags.get("client-cert");
  config.tls.client_key_file = flags.get("client-key");
  config.tls.server_name = flags.get("tls-server-name");
  config.tls.insecure_skip_verify = flags.has("tls-skip-verify");
  const std::string kv_version = flags.get("kv-version", "auto");
  if (kv_version == "1") {
    config.kv_version = vault::KvVersion::kV1;
  } else if (kv_version == "2") {
    config.kv_version = vault::KvVersion::kV2;
  } else if (kv_version != "auto") {
    return absl::InvalidArgumentError("--kv-version: \"" + kv_version +
                                      "\" is not one of auto, 1, 2");
  }
  auto auth = authFromFlags(flags);
  if (!auth.ok()) {
    return auth.status();
  }
  config.auth = *std::move(auth);
  return config;
}

// One line per key name, in order; values are never touched.
std::string keyNames(const nlohmann::json& data) {
  std::vector<std::string> names;
  for (const auto& [key, value] : data.items()) {
    names.push_back(key);
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace

int runCheck(const std::vector<std::string>& args) {
  auto flags = common::parseFlags(args, checkFlags());
  if (!flags.ok() || flags->has("help")) {
    std::ostream& out = flags.ok() ? std::cout : std::cerr;
    if (!flags.ok()) {
      out << "secretsync check: " << flags.status().message() << "\n\n";
    }
    out << "Usage: secretsync check [flags] --path mount/path [--path ...] [--list folder]\n\n"
        << "Reads secrets and reports versions and key names, never values.\n\n"
        << common::flagsHelp(checkFlags());
    return flags.ok() ? 0 : 2;
  }
  if (absl::Status logging = configureLogging(*flags, kCheckLogging); !logging.ok()) {
    std::cerr << "secretsync check: " << logging.message() << "\n";
    return 2;
  }

  auto config = configFromFlags(*flags);
  if (!config.ok()) {
    std::cerr << "secretsync check: " << config.status().message() << "\n";
    return 2;
  }
  const std::string address = config->address;
  common::http::CurlGlobal curl;
  auto store = vault::VaultStore::create(*std::move(config), common::realClock());
  if (!store.ok()) {
    std::cerr << "secretsync check: " << store.status().message() << "\n";
    return 2;
  }
  std::cout << "store " << address << " as " << (*store)->identity() << "\n";

  int failures = 0;
  for (const std::string& text : flags->all("path")) {
    auto ref = store::parseSecretRef(text);
    auto secret = ref.ok() ? (*store)->read(*ref) : absl::StatusOr<store::Secret>(ref.status());
    if (!secret.ok()) {
      ++failures;
      const auto reason = store::notFoundReason(secret.status());
      std::cout << "read " << text << ": FAILED ("
                << absl::StatusCodeToString(secret.status().code())
                << (reason == store::NotFoundReason::Deleted     ? ", version deleted"
                    : reason == store::NotFoundReason::Destroyed ? ", version destroyed"
                                                                 : "")
                << ") " << secret.status().message() << "\n";
      continue;
    }
    std::cout << "read " << text << ": version " << secret->version << ", " << secret->data.size()
              << " keys [" << keyNames(secret->data) << "]\n";
  }
  for (const std::string& folder : flags->all("list")) {
    auto keys = (*store)->list(folder, /*recursive=*/true);
    if (!keys.ok()) {
      ++failures;
      std::cout << "list " << folder << ": FAILED ("
                << absl::StatusCodeToString(keys.status().code()) << ") " << keys.status().message()
                << "\n";
      continue;
    }
    std::cout << "list " << folder << ": " << keys->size() << " secrets ["
              << absl::StrJoin(*keys, ", ") << "]\n";
  }
  if (auto ttl = (*store)->tokens().remainingTtl(); ttl.has_value()) {
    std::cout << "token ttl " << ttl->count() << "s\n";
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace secretsync::cmd
