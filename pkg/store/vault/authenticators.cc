#include "pkg/store/vault/authenticators.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_wipe.h"
#include "pkg/store/vault/auth_reply.h"
#include "pkg/store/vault/jwt_source.h"
#include "pkg/store/vault/vault_errors.h"

namespace secretsync::store::vault {
namespace {

constexpr std::string_view kLookupSelfPath = "auth/token/lookup-self";

using common::av;

// Prefixes `status`'s message with `context`, keeping its code (callers branch on codes).
absl::Status withContext(const absl::Status& status, std::string_view context) {
  return absl::Status(status.code(), absl::StrCat(av(context), ": ", status.message()));
}

// Users write mounts as "kubernetes", "/kubernetes" or "kubernetes/": all mean the same mount.
std::string normaliseMount(const std::string& given) {
  absl::string_view mount = given;
  while (absl::ConsumePrefix(&mount, "/")) {
  }
  while (absl::ConsumeSuffix(&mount, "/")) {
  }
  return std::string(mount);
}

bool isSuccess(int status) { return status >= 200 && status < 300; }

// POSTs a login body (which holds the credential) and parses the `auth` block of the reply.
// `context` names method, mount and role for messages; the body never appears in one.
absl::StatusOr<LoginResult> postLogin(VaultTransport& transport, const std::string& path,
                                      nlohmann::json body, std::string_view context) {
  VaultCall call;
  call.method = "POST";
  call.path = path;
  call.body = std::move(body);
  call.token = nullptr;
  absl::StatusOr<VaultReply> reply = transport.call(call);
  // Drop our copy of the credential as soon as the request is done, zeroed.
  common::wipeJsonStrings(*call.body);
  call.body.reset();
  if (!reply.ok()) {
    return withContext(reply.status(), context);
  }
  if (!isSuccess(reply->status)) {
    const absl::Status status = statusFromReply(*reply, "POST", path);
    if (status.ok()) {
      // statusFromReply only says OK for 2xx; guard against a status it does not know anyway.
      return absl::UnknownError(
          absl::StrCat(av(context), ": unexpected HTTP status ", reply->status));
    }
    return withContext(status, context);
  }
  absl::StatusOr<LoginResult> result = parseAuthBlock(reply->body, path);
  // The reply's client_token now lives in `result` only.
  common::wipeJsonStrings(reply->body);
  if (!result.ok()) {
    return withContext(result.status(), context);
  }
  return result;
}

class TokenAuthenticator final : public Authenticator {
 public:
  explicit TokenAuthenticator(common::SecretString token)
      : token_(std::move(token)),
        identity_(absl::StrCat("token:", keyedFingerprint(token_.reveal()))) {}

  absl::StatusOr<LoginResult> login(VaultTransport& transport) override {
    constexpr std::string_view kContext = "token auth: validating the configured token";
    VaultCall call;
    call.method = "GET";
    call.path = std::string(kLookupSelfPath);
    call.token = &token_;
    absl::StatusOr<VaultReply> reply = transport.call(call);
    if (!reply.ok()) {
      return withContext(reply.status(), kContext);
    }
    if (!isSuccess(reply->status)) {
      const absl::Status status = statusFromReply(*reply, "GET", kLookupSelfPath);
      if (status.ok()) {
        return absl::UnknownError(
            absl::StrCat(av(kContext), ": unexpected HTTP status ", reply->status));
      }
      return withContext(status, absl::StrCat(av(kContext), " (Vault refused it)"));
    }
    absl::StatusOr<TokenLookup> lookup = parseLookupSelf(reply->body, kLookupSelfPath);
    // lookup-self echoes the token as `id`.
    common::wipeJsonStrings(reply->body);
    if (!lookup.ok()) {
      return withContext(lookup.status(), kContext);
    }
    LoginResult result;
    result.token = token_;
    result.lease_duration = lookup->ttl;
    result.renewable = lookup->renewable;
    return result;
  }

  std::string identity() const override { return identity_; }

 private:
  const common::SecretString token_;
  const std::string identity_;
};

// Kubernetes and JWT auth share the wire shape {role, jwt}; only the names differ.
class RoleJwtAuthenticator final : public Authenticator {
 public:
  RoleJwtAuthenticator(std::string method, std::string mount, std::string role, JwtSourcePtr jwt)
      : mount_(std::move(mount)),
        role_(std::move(role)),
        jwt_(std::move(jwt)),
        path_(absl::StrCat("auth/", mount_, "/login")),
        context_(absl::StrCat(method, " login (mount \"", mount_, "\", role \"", role_, "\")")),
        identity_(absl::StrCat(method, ":", mount_, ":", role_, ":", jwt_->describe())) {}

  absl::StatusOr<LoginResult> login(VaultTransport& transport) override {
    absl::StatusOr<common::SecretString> jwt = jwt_->jwt();
    if (!jwt.ok()) {
      return withContext(jwt.status(), context_);
    }
    nlohmann::json body = nlohmann::json::object();
    if (!role_.empty()) {
      body["role"] = role_;
    }
    body["jwt"] = jwt->reveal();
    return postLogin(transport, path_, std::move(body), context_);
  }

  std::string identity() const override { return identity_; }

 private:
  const std::string mount_;
  const std::string role_;
  const JwtSourcePtr jwt_;
  const std::string path_;
  const std::string context_;
  const std::string identity_;
};

class AppRoleAuthenticator final : public Authenticator {
 public:
  AppRoleAuthenticator(std::string mount, std::string role_id, common::SecretString secret_id)
      : mount_(std::move(mount)),
        role_id_(std::move(role_id)),
        secret_id_(std::move(secret_id)),
        path_(absl::StrCat("auth/", mount_, "/login")),
        context_(
            absl::StrCat("approle login (mount \"", mount_, "\", role_id \"", role_id_, "\")")),
        identity_(absl::StrCat("approle:", mount_, ":", role_id_)) {}

  absl::StatusOr<LoginResult> login(VaultTransport& transport) override {
    nlohmann::json body = nlohmann::json::object();
    body["role_id"] = role_id_;
    if (!secret_id_.empty()) {
      body["secret_id"] = secret_id_.reveal();
    }
    return postLogin(transport, path_, std::move(body), context_);
  }

  std::string identity() const override { return identity_; }

 private:
  const std::string mount_;
  const std::string role_id_;
  const common::SecretString secret_id_;
  const std::string path_;
  const std::string context_;
  const std::string identity_;
};

}  // namespace

absl::StatusOr<AuthenticatorPtr> makeTokenAuthenticator(TokenAuthConfig config) {
  if (config.token.empty()) {
    return absl::InvalidArgumentError("token auth: the token is empty");
  }
  return std::make_unique<TokenAuthenticator>(std::move(config.token));
}

absl::StatusOr<AuthenticatorPtr> makeKubernetesAuthenticator(KubernetesAuthConfig config) {
  std::string mount = normaliseMount(config.mount);
  if (mount.empty()) {
    return absl::InvalidArgumentError("kubernetes auth: the mount is empty");
  }
  if (config.role.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kubernetes auth (mount \"", mount, "\"): the role is empty"));
  }
  if (config.jwt == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kubernetes auth (mount \"", mount, "\", role \"", config.role, "\"): no JWT source"));
  }
  return std::make_unique<RoleJwtAuthenticator>("kubernetes", std::move(mount),
                                                std::move(config.role), std::move(config.jwt));
}

absl::StatusOr<AuthenticatorPtr> makeAppRoleAuthenticator(AppRoleAuthConfig config) {
  std::string mount = normaliseMount(config.mount);
  if (mount.empty()) {
    return absl::InvalidArgumentError("approle auth: the mount is empty");
  }
  if (config.role_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("approle auth (mount \"", mount, "\"): the role_id is empty"));
  }
  return std::make_unique<AppRoleAuthenticator>(std::move(mount), std::move(config.role_id),
                                                std::move(config.secret_id));
}

absl::StatusOr<AuthenticatorPtr> makeJwtAuthenticator(JwtAuthConfig config) {
  std::string mount = normaliseMount(config.mount);
  if (mount.empty()) {
    return absl::InvalidArgumentError("jwt auth: the mount is empty");
  }
  if (config.jwt == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("jwt auth (mount \"", mount, "\", role \"",
                                                   config.role, "\"): no JWT source"));
  }
  return std::make_unique<RoleJwtAuthenticator>("jwt", std::move(mount), std::move(config.role),
                                                std::move(config.jwt));
}

}  // namespace secretsync::store::vault
