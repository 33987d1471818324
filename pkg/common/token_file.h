#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "pkg/common/secret_string.h"

namespace secretsync::common {

// A credential kept in a file and re-read only when it changes: the pod's projected
// service-account token (/var/run/secrets/kubernetes.io/serviceaccount/token) or any mounted
// token. The kubelet rotates such files by swapping a symlink, so each read() stats the path
// (device, inode, size, mtime) and reads the file again only when one of them changed; otherwise it
// returns the cached value. Surrounding whitespace (a trailing newline from `echo`) is trimmed.
// Read buffers are zeroed.
// Errors: kFailedPrecondition for a missing, unreadable, oversized or empty file, or a path that
// is not a file; messages say "<label> file <path>" and never hold the content.
//
// Thread-safety: read() may be called from many threads at once (an internal mutex guards the
// cache); path() is immutable.
class TokenFile {
 public:
  // `label` names the credential in errors ("JWT", "token").
  TokenFile(std::string path, std::string label);

  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  absl::StatusOr<SecretString> read();
  const std::string& path() const { return path_; }

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
  const std::string label_;
  std::mutex mu_;
  std::optional<FileStamp> stamp_ ABSL_GUARDED_BY(mu_);
  SecretString cached_ ABSL_GUARDED_BY(mu_);
};

}  // namespace secretsync::common
