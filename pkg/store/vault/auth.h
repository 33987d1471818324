#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pkg/common/secret_string.h"
#include "pkg/store/vault/vault_transport.h"

namespace secretsync::store::vault {

// Where a login JWT comes from: a projected service-account token file, a fixed string, or a
// callback (the controller plugs TokenRequest in here).
//
// Thread-safety: jwt() may be called from many threads at once.
class JwtSource {
 public:
  virtual ~JwtSource() = default;

  // @return the JWT to log in with now.
  virtual absl::StatusOr<common::SecretString> jwt() = 0;

  // @return a stable description for identity keys and messages ("file:/var/run/...", a caller
  // given principal): never the JWT itself.
  virtual std::string describe() const = 0;
};

using JwtSourcePtr = std::unique_ptr<JwtSource>;

// A Vault token as a login or renewal returned it.
struct LoginResult {
  common::SecretString token;
  // auth.lease_duration; zero means the token does not expire (e.g. root).
  std::chrono::seconds lease_duration{0};
  bool renewable = false;
};

// One way to obtain a token: token, Kubernetes, AppRole, JWT.
//
// Thread-safety: login() is called by one thread at a time (the TokenManager serialises it).
class Authenticator {
 public:
  virtual ~Authenticator() = default;

  // Obtains a fresh token through `transport`.
  // Errors: kPermissionDenied / kInvalidArgument as Vault answered (messages name the mount and
  // role), kUnavailable for transport failures.
  virtual absl::StatusOr<LoginResult> login(VaultTransport& transport) = 0;

  // @return a stable identity of the credentials ("kubernetes:<mount>:<role>:<jwt source>",
  // "token:<keyed hash>"), with no secret in it.
  virtual std::string identity() const = 0;
};

using AuthenticatorPtr = std::unique_ptr<Authenticator>;

// Hands out a valid token for one identity.
//
// Thread-safety: both methods may be called from many threads at once.
class TokenProvider {
 public:
  virtual ~TokenProvider() = default;

  // @return a token valid now. Logs in when there is none or it expired, renews it when due.
  // Only one login runs at a time; concurrent callers wait for it and share its result.
  virtual absl::StatusOr<common::SecretString> token() = 0;

  // Reports that Vault refused `token` as invalid. The next token() logs in again, unless the
  // current token is already a newer one (so N callers failing together cause one login).
  virtual void invalidate(const common::SecretString& token) = 0;
};

using TokenProviderPtr = std::unique_ptr<TokenProvider>;

}  // namespace secretsync::store::vault
