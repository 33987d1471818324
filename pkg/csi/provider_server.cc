#include "pkg/csi/provider_server.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "pkg/common/absl_view.h"
#include "pkg/common/log.h"
#include "pkg/common/secure_wipe.h"
#include "pkg/common/status_macros.h"
#include "pkg/store/read_set.h"
#include "pkg/store/vault/jwt_source.h"

namespace secretsync::csi {
namespace {

using common::av;
namespace log = common::log;

// Adds which object failed to a status, keeping its code. Store messages name the path, never a
// value; ours add the object name and the path as written.
absl::Status objectFailure(const absl::Status& status, const MountObject& object) {
  return absl::Status(status.code(),
                      absl::StrCat("object \"", object.object_name, "\" (secretPath \"",
                                   object.secret_path, "\"): ", status.message()));
}

std::string dumpJson(const nlohmann::json& value) {
  // Values come from a parsed reply, but never let odd bytes throw: replace them.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The bytes of one file before decoding: one key's value (a string as is, anything else as
// JSON), or the whole data as a JSON object.
absl::StatusOr<std::string> selectValue(const store::Secret& secret, const MountObject& object) {
  if (!object.secret_key) {
    return dumpJson(secret.data);
  }
  const std::string& key = *object.secret_key;
  if (!secret.data.is_object() || !secret.data.contains(key)) {
    return absl::NotFoundError(absl::StrCat("object \"", object.object_name, "\": secretKey \"",
                                            key, "\" is not in the secret at \"",
                                            object.secret_path, "\""));
  }
  const nlohmann::json& value = secret.data[key];
  if (value.is_string()) {
    return value.get<std::string>();
  }
  return dumpJson(value);
}

absl::StatusOr<std::string> decode(std::string value, const MountObject& object) {
  // The encoded form is as secret as the decoded one; a utf-8 value is moved out before this runs.
  absl::Cleanup wipe_value = [&value] { common::wipeString(value); };
  switch (object.encoding) {
    case Encoding::kUtf8:
      return value;
    case Encoding::kBase64: {
      std::string out;
      if (!absl::Base64Unescape(av(value), &out)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "object \"", object.object_name, "\" (secretPath \"", object.secret_path,
            "\"): the value is not valid base64, so it cannot be decoded (encoding: base64, "
            "or decodeBase64: true)"));
      }
      return out;
    }
    case Encoding::kHex: {
      const bool valid = value.size() % 2 == 0 &&
                         value.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
      if (!valid) {
        return absl::InvalidArgumentError(
            absl::StrCat("object \"", object.object_name, "\" (secretPath \"", object.secret_path,
                         "\"): encoding is hex but the value is not valid hex"));
      }
      return absl::HexStringToBytes(av(value));
    }
  }
  return value;
}

std::string tlsKey(const common::http::TlsOptions& tls) {
  return absl::StrCat(tls.ca_file, "|", tls.server_name, "|", tls.insecure_skip_verify ? 1 : 0);
}

}  // namespace

std::string errorCodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "";
    case absl::StatusCode::kCancelled:
      return "Cancelled";
    case absl::StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case absl::StatusCode::kDeadlineExceeded:
      return "DeadlineExceeded";
    case absl::StatusCode::kNotFound:
      return "NotFound";
    case absl::StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case absl::StatusCode::kPermissionDenied:
      return "PermissionDenied";
    case absl::StatusCode::kResourceExhausted:
      return "ResourceExhausted";
    case absl::StatusCode::kFailedPrecondition:
      return "FailedPrecondition";
    case absl::StatusCode::kAborted:
      return "Aborted";
    case absl::StatusCode::kOutOfRange:
      return "OutOfRange";
    case absl::StatusCode::kUnimplemented:
      return "Unimplemented";
    case absl::StatusCode::kUnavailable:
      return "Unavailable";
    case absl::StatusCode::kDataLoss:
      return "DataLoss";
    case absl::StatusCode::kUnauthenticated:
      return "Unauthenticated";
    default:
      return "Internal";
  }
}

struct Provider::Identity {
  // What the store's JWT source hands out at login: the newest pod token the driver sent, or,
  // when none came, one minted by the TokenRequest hook for the newest pod seen.
  std::mutex mu;
  common::SecretString jwt ABSL_GUARDED_BY(mu);
  PodInfo pod ABSL_GUARDED_BY(mu);
  std::string audience;
  const TokenRequestHook* token_request = nullptr;
  // Declared before the store, which uses it, so the store goes first.
  std::shared_ptr<common::http::HttpClient> http;
  std::unique_ptr<store::vault::VaultStore> store;

  void update(const common::SecretString* latest, const PodInfo& latest_pod) {
    std::lock_guard lock(mu);
    if (latest != nullptr) {
      jwt = *latest;
    }
    pod = latest_pod;
  }

  // Called by the TokenManager only when it logs in, so the hook mints one token per login,
  // not one per mount.
  absl::StatusOr<common::SecretString> currentJwt() {
    PodInfo for_pod;
    {
      std::lock_guard lock(mu);
      if (!jwt.empty()) {
        return jwt;
      }
      for_pod = pod;
    }
    if (token_request != nullptr && *token_request) {
      return (*token_request)(for_pod, audience);
    }
    return absl::FailedPreconditionError("no service-account token for the login");
  }
};

Provider::Provider(common::Clock& clock, ProviderOptions options)
    : clock_(clock),
      options_(std::move(options)),
      fetcher_(clock, options_.fetcher),
      http_clients_({.request_timeout = options_.vault_request_timeout}) {}

Provider::~Provider() = default;

void Provider::version(const v1alpha1::VersionRequest& /*request*/,
                       v1alpha1::VersionResponse* response) {
  response->set_version("v1alpha1");
  response->set_runtime_name(std::string(kProviderName));
  response->set_runtime_version(options_.runtime_version.empty() ? SECRETSYNC_CSI_VERSION
                                                                 : options_.runtime_version);
}

TokenRequestHook makeTokenRequestHook(kube::KubeClient& client, std::chrono::seconds expiration) {
  return [&client, expiration](const PodInfo& pod,
                               std::string_view audience) -> absl::StatusOr<common::SecretString> {
    absl::StatusOr<kube::ServiceAccountToken> token = client.requestToken(
        pod.namespace_name, pod.service_account, {std::string(audience)}, expiration);
    if (!token.ok()) {
      return absl::Status(token.status().code(),
                          absl::StrCat("TokenRequest for service account ", pod.namespace_name, "/",
                                       pod.service_account, " (audience \"", av(audience),
                                       "\"; the provider needs create on serviceaccounts/token): ",
                                       token.status().message()));
    }
    return common::SecretString(std::move(token->token));
  };
}

absl::Status Provider::resolveSecretsStoreImport(MountOrder* order) {
  const std::string what = absl::StrCat("SecretsStoreImport \"", order->pod.namespace_name, "/",
                                        order->secrets_store_import, "\"");
  if (options_.kube_client == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(what,
                     ": the provider has no Kubernetes client to read it (run it in a cluster or "
                     "pass --kubeconfig)"));
  }
  absl::StatusOr<nlohmann::json> object =
      options_.kube_client->get(kube::resources::secretsStoreImports(), order->pod.namespace_name,
                                order->secrets_store_import);
  if (!object.ok()) {
    return absl::Status(object.status().code(),
                        absl::StrCat(what, ": cannot read it: ", object.status().message()));
  }
  return applySecretsStoreImport(*object, MountAttributesLimits{}, order);
}

absl::Status Provider::mount(const v1alpha1::MountRequest& request,
                             v1alpha1::MountResponse* response) {
  const common::MonotonicTime start = clock_.monotonicNow();
  absl::Status status;
  MountOrder order;
  auto parsed = parseMountRequest(request.attributes(), request.secrets(), request.permission());
  if (parsed.ok()) {
    order = *std::move(parsed);
    if (order.dialect == Dialect::kSecretsStoreImport) {
      status = resolveSecretsStoreImport(&order);
      if (status.ok()) {
        status = mountOrder(order, response);
        if (!status.ok()) {
          // Which import failed: pod events show the message without the volume it came from.
          status = absl::Status(status.code(),
                                absl::StrCat("SecretsStoreImport \"", order.pod.namespace_name, "/",
                                             order.secrets_store_import, "\": ", status.message()));
        }
      }
    } else {
      status = mountOrder(order, response);
    }
  } else {
    status = parsed.status();
  }
  const auto latency = clock_.monotonicNow() - start;
  record(status, latency);
  const auto latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(latency).count();
  if (status.ok()) {
    log::info("csi mount", {{"namespace", order.pod.namespace_name},
                            {"pod", order.pod.name},
                            {"secretProviderClass", order.secret_provider_class},
                            {"secretsStoreImport", order.secrets_store_import},
                            {"objects", response->files_size()},
                            {"duration_ms", latency_ms}});
  } else {
    // Files of the objects read before the failure are not sent: zero them before they are freed.
    for (v1alpha1::File& file : *response->mutable_files()) {
      common::wipeString(*file.mutable_contents());
    }
    response->Clear();
    response->mutable_error()->set_code(errorCodeName(status.code()));
    log::warn("csi mount failed", {{"namespace", order.pod.namespace_name},
                                   {"pod", order.pod.name},
                                   {"secretProviderClass", order.secret_provider_class},
                                   {"secretsStoreImport", order.secrets_store_import},
                                   {"code", errorCodeName(status.code())},
                                   {"error", status},
                                   {"duration_ms", latency_ms}});
  }
  return status;
}

absl::StatusOr<const common::SecretString*> Provider::podToken(const MountOrder& order,
                                                               const std::string& audience) const {
  const auto it = order.service_account_tokens.find(audience);
  if (it != order.service_account_tokens.end() && !it->second.token.empty()) {
    return &it->second.token;
  }
  if (options_.token_request) {
    return nullptr;  // the identity's JWT source asks the hook at login
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "attribute \"", av(kServiceAccountTokensAttribute), "\" has no token for audience \"",
      audience,
      "\", and the TokenRequest fallback is off (--no-token-request-fallback, or no Kubernetes "
      "configuration: run the provider in a cluster or pass --kubeconfig); or configure the "
      "CSIDriver's tokenRequests "
      "with this audience (Helm tokenRequests[].audience), or set `audience` to one it has"));
}

absl::StatusOr<Provider::IdentityPtr> Provider::identityFor(const MountOrder& order,
                                                            const std::string& audience,
                                                            const common::SecretString* jwt) {
  const std::string address =
      order.vault_address.empty() ? options_.default_vault_address : order.vault_address;
  if (address.empty()) {
    return absl::InvalidArgumentError(
        "attribute \"vaultAddress\": is not set and the provider has no --vault-addr default");
  }
  const std::string vault_namespace =
      order.vault_namespace.empty() ? options_.default_vault_namespace : order.vault_namespace;
  const std::string auth_mount =
      order.auth_mount.empty() ? options_.default_auth_mount : order.auth_mount;
  common::http::TlsOptions tls;
  tls.ca_file = order.ca_cert_path.empty() ? options_.default_ca_file : order.ca_cert_path;
  tls.server_name = order.tls_server_name;
  tls.insecure_skip_verify = order.skip_tls_verify;
  const std::string principal =
      absl::StrCat("serviceaccount:", order.pod.namespace_name, "/", order.pod.service_account);
  const std::string key =
      absl::StrCat(address, "|", vault_namespace, "|", auth_mount, "|", order.role_name, "|",
                   principal, "|", audience, "|", tlsKey(tls));

  std::lock_guard lock(mu_);
  if (auto it = identities_.find(key); it != identities_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    IdentityPtr identity = it->second->second;
    identity->update(jwt, order.pod);
    return identity;
  }
  auto identity = std::make_shared<Identity>();
  identity->audience = audience;
  identity->token_request = &options_.token_request;
  identity->update(jwt, order.pod);
  ASSIGN_OR_RETURN(identity->http, http_clients_.clientFor(tls));
  store::vault::VaultStoreConfig config;
  config.address = address;
  config.vault_namespace = vault_namespace;
  config.tls = tls;
  config.transport.request_timeout = options_.vault_request_timeout;
  config.transport.observer = options_.vault_observer;
  // The identity outlives its store, so the source may point at it. The description becomes
  // part of the store's identity and so of the Fetcher's cache key: audience and TLS settings are
  // in it so that, e.g., a read made without TLS verification is never served to a mount that
  // verifies.
  Identity* raw = identity.get();
  config.auth = store::vault::KubernetesAuthConfig{
      auth_mount, order.role_name,
      store::vault::makeCallbackJwtSource(
          [raw]() -> absl::StatusOr<common::SecretString> { return raw->currentJwt(); },
          absl::StrCat(principal, "|", audience, "|", tlsKey(tls)))};
  ASSIGN_OR_RETURN(identity->store, store::vault::VaultStore::create(std::move(config), clock_,
                                                                     identity->http.get()));
  lru_.emplace_front(key, identity);
  identities_[key] = lru_.begin();
  while (lru_.size() > std::max<size_t>(options_.max_identities, 1)) {
    // Mounts still using the evicted identity keep it alive through their IdentityPtr.
    identities_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return identity;
}

absl::Status Provider::mountOrder(const MountOrder& order, v1alpha1::MountResponse* response) {
  const std::string audience = order.audience.empty() ? options_.default_audience : order.audience;
  ASSIGN_OR_RETURN(const common::SecretString* jwt, podToken(order, audience));
  ASSIGN_OR_RETURN(const IdentityPtr identity, identityFor(order, audience, jwt));

  // The driver always sends 420 (0644); files without filePermission get it, as with
  // vault-csi-provider, so a switch changes no mode. filePermission: 0600 is the way to narrow.
  const uint32_t default_mode = order.permission.value_or(0644);
  size_t total = 0;
  // Objects naming one secret (several keys of a path, as vault-csi-provider also reads once)
  // take it from one read: the files of a mount never mix two versions of it. The reads are
  // zeroed when the mount is done.
  store::ReadSet reads(fetcher_);
  for (const MountObject& object : order.objects) {
    // secretPath is Vault's API path; only the store knows whether its mount is KV v2 and so
    // whether a `data` segment after the mount is the API's or the key's own.
    absl::StatusOr<std::string> path = identity->store->pathFromApiPath(object.ref.path);
    if (!path.ok()) {
      return objectFailure(path.status(), object);
    }
    absl::StatusOr<const store::Secret*> secret =
        reads.read(*identity->store, store::SecretRef{*std::move(path), object.ref.version});
    if (!secret.ok()) {
      return objectFailure(secret.status(), object);
    }
    // Our copies of the value are zeroed when this object is done (or has failed); the response
    // keeps the file's bytes until gRPC has sent and freed it, which is out of our hands.
    std::string value;
    std::string contents;
    absl::Cleanup wipe_copies = [&] {
      common::wipeString(value);
      common::wipeString(contents);
    };
    ASSIGN_OR_RETURN(value, selectValue(**secret, object));
    ASSIGN_OR_RETURN(contents, decode(std::move(value), object));
    total += contents.size();
    if (total > options_.max_response_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("object \"", object.object_name, "\": the files total more than ",
                       options_.max_response_bytes, " bytes, the limit of one mount"));
    }
    // The KV v2 version when there is one; otherwise a keyed hash of the content, so a change
    // shows without the content (or a guessable hash of it) leaving the process.
    const std::string version = (*secret)->version > 0
                                    ? std::to_string((*secret)->version)
                                    : absl::StrCat("h", store::vault::keyedFingerprint(contents));
    v1alpha1::ObjectVersion* object_version = response->add_object_version();
    object_version->set_id(object.object_name);
    object_version->set_version(version);
    v1alpha1::File* file = response->add_files();
    file->set_path(object.object_name);
    file->set_mode(static_cast<int32_t>(object.file_permission.value_or(default_mode)));
    file->set_contents(std::move(contents));
  }
  if (total > (1u << 20)) {
    log::warn("csi mount is over 1 MiB; the driver's Secret sync may fail",
              {{"namespace", order.pod.namespace_name},
               {"secretProviderClass", order.secret_provider_class},
               {"bytes", total}});
  }
  return absl::OkStatus();
}

void Provider::record(const absl::Status& status, std::chrono::nanoseconds latency) {
  const std::string code = status.ok() ? "" : errorCodeName(status.code());
  {
    std::lock_guard lock(mu_);
    ++stats_.mounts;
    stats_.total_latency += latency;
    stats_.max_latency = std::max(stats_.max_latency, latency);
    if (!status.ok()) {
      ++stats_.mount_errors;
      ++stats_.errors_by_code[code];
    }
  }
  if (options_.on_mount) {
    options_.on_mount(code, latency);
  }
}

ProviderStats Provider::stats() const {
  ProviderStats out;
  {
    std::lock_guard lock(mu_);
    out = stats_;
    out.identities = identities_.size();
  }
  out.fetcher = fetcher_.stats();
  return out;
}

grpc::Status ProviderService::Version(grpc::ServerContext* /*context*/,
                                      const v1alpha1::VersionRequest* request,
                                      v1alpha1::VersionResponse* response) {
  provider_.version(*request, response);
  return grpc::Status::OK;
}

grpc::Status ProviderService::Mount(grpc::ServerContext* /*context*/,
                                    const v1alpha1::MountRequest* request,
                                    v1alpha1::MountResponse* response) {
  const absl::Status status = provider_.mount(*request, response);
  if (status.ok()) {
    return grpc::Status::OK;
  }
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

ProviderServer::ProviderServer(std::string socket_path, Provider& provider)
    : socket_path_(std::move(socket_path)), service_(provider) {}

absl::StatusOr<std::unique_ptr<ProviderServer>> ProviderServer::start(
    const std::string& socket_path, Provider& provider) {
  if (socket_path.empty()) {
    return absl::InvalidArgumentError("socket path is empty");
  }
  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("socket path \"", socket_path, "\" exists and is not a socket"));
    }
    // A socket left by a provider that did not shut down cleanly: nobody listens on it.
    if (::unlink(socket_path.c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot remove stale socket \"", socket_path, "\": ", std::strerror(errno)));
    }
  }
  const size_t slash = socket_path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = socket_path.substr(0, slash);
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("socket directory \"", dir, "\" does not exist"));
    }
  }

  auto server = std::unique_ptr<ProviderServer>(new ProviderServer(socket_path, provider));
  grpc::ServerBuilder builder;
  // The driver authenticates nobody: the socket's file permissions are the access control.
  builder.AddListeningPort(absl::StrCat("unix:", socket_path), grpc::InsecureServerCredentials());
  builder.RegisterService(&server->service_);
  // Owner-only from the moment bind() creates it; chmod below covers a umask-ignoring libc.
  const mode_t previous_umask = ::umask(0177);
  server->server_ = builder.BuildAndStart();
  ::umask(previous_umask);
  if (server->server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on unix socket \"", socket_path,
                                               "\" (see the gRPC log above)"));
  }
  ::chmod(socket_path.c_str(), 0600);
  log::info("csi provider listening", {{"socket", socket_path}});
  return server;
}

ProviderServer::~ProviderServer() {
  shutdown();
  server_->Wait();
}

void ProviderServer::shutdown(std::chrono::milliseconds grace) {
  std::call_once(shutdown_once_, [&] {
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    ::unlink(socket_path_.c_str());
    log::info("csi provider stopped", {{"socket", socket_path_}});
  });
}

void ProviderServer::wait() { server_->Wait(); }

}  // namespace secretsync::csi
