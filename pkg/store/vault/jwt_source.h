#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "pkg/common/secret_string.h"
#include "pkg/store/vault/auth.h"

namespace secretsync::store::vault {

// Reads a JWT from a file: the pod's projected service-account token
// (/var/run/secrets/kubernetes.io/serviceaccount/token) or any mounted token file. The kubelet
// rotates such files by swapping a symlink, so each jwt() stats the path (device, inode, size,
// mtime) and re-reads the file only when one of them changed; otherwise it returns the cached JWT.
// Surrounding whitespace (a trailing newline from `echo`) is trimmed.
// Errors: kFailedPrecondition for a missing, unreadable or empty file; messages name the path.
//
// Thread-safety: jwt() may be called from many threads at once (an internal mutex guards the
// cache); describe() is immutable.
class FileJwtSource final : public JwtSource {
 public:
  explicit FileJwtSource(std::string path);

  absl::StatusOr<common::SecretString> jwt() override;
  // "file:<path>".
  std::string describe() const override;

 private:
  // What identifies one version of the file without reading it.
  struct FileStamp {
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };

  const std::string path_;
  std::mutex mu_;
  std::optional<FileStamp> stamp_ ABSL_GUARDED_BY(mu_);
  common::SecretString cached_ ABSL_GUARDED_BY(mu_);
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
