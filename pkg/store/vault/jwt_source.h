#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "pkg/common/secret_string.h"
#include "pkg/common/token_file.h"
#include "pkg/store/vault/auth.h"

namespace secretsync::store::vault {

// Reads a JWT from a file: the pod's projected service-account token
// (/var/run/secrets/kubernetes.io/serviceaccount/token) or any mounted token file, re-read only
// when it changed (common::TokenFile: rotation by symlink swap, trimming, zeroed buffers).
// Errors: kFailedPrecondition for a missing, unreadable or empty file; messages name the path.
//
// Thread-safety: jwt() may be called from many threads at once; describe() is immutable.
class FileJwtSource final : public JwtSource {
 public:
  explicit FileJwtSource(std::string path);

  absl::StatusOr<common::SecretString> jwt() override;
  // "file:<path>".
  std::string describe() const override;

 private:
  common::TokenFile file_;
};

// A fixed JWT (from a Kubernetes Secret the caller read, or a test).
//
// Thread-safety: immutable; safe from any thread.
class StaticJwtSource final : public JwtSource {
 public:
  // `label` names the principal in describe(); when empty, describe() is "static:<keyed hash>"
  // so two different JWTs never share an identity.
  explicit StaticJwtSource(common::SecretString jwt, std::string label = "");

  // Errors: kFailedPrecondition when the JWT is empty.
  absl::StatusOr<common::SecretString> jwt() override;
  std::string describe() const override;

 private:
  const common::SecretString jwt_;
  const std::string describe_;
};

// A JWT produced on demand by a callback: the controller plugs TokenRequest
// (serviceaccounts/<name>/token) in here.
//
// Thread-safety: jwt() may be called from many threads at once and calls `callback` concurrently;
// the callback must be thread-safe.
class CallbackJwtSource final : public JwtSource {
 public:
  using Callback = std::function<absl::StatusOr<common::SecretString>()>;

  // `describe` must name the principal whose JWT the callback returns
  // ("serviceaccount:<namespace>/<name>"): it becomes part of identity keys.
  CallbackJwtSource(Callback callback, std::string describe);

  // Errors: whatever the callback returns; kFailedPrecondition for an empty JWT.
  absl::StatusOr<common::SecretString> jwt() override;
  std::string describe() const override;

 private:
  const Callback callback_;
  const std::string describe_;
};

// Convenience factories.
JwtSourcePtr makeFileJwtSource(std::string path);
JwtSourcePtr makeStaticJwtSource(common::SecretString jwt, std::string label = "");
JwtSourcePtr makeCallbackJwtSource(CallbackJwtSource::Callback callback, std::string describe);

// @return the first 16 hex digits of HMAC-SHA256(key, secret), with a key drawn at random once per
// process: a fingerprint that tells secrets apart inside this process (for identity keys) but
// cannot be checked against a guess by anyone reading logs or metrics.
std::string keyedFingerprint(std::string_view secret);

}  // namespace secretsync::store::vault
