#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "pkg/common/secret_string.h"

namespace secretsync::sync {

// One file of a target: its bytes (a secret, so never printable) and its permission bits.
struct FileContent {
  common::SecretString bytes;
  // Permission bits only (no setuid/setgid/sticky). Owner-only by default.
  mode_t mode = 0600;
};

// key (a relative path such as "tls.crt" or "conf/app.yaml") → content.
using FileMap = std::map<std::string, FileContent>;

struct AtomicWriteResult {
  // False when the payload on disk already equalled the new one and nothing was written.
  bool changed = false;
  // The keys written into the new version directory (empty when unchanged).
  std::vector<std::string> files_written;
  // Base name of the version directory `..data` points at after the call
  // ("..2024_05_01_12_00_00.123456789"); the existing one when unchanged.
  std::string version_dir;
};

struct AtomicWriteOptions {
  // Owner and group given to every file and directory written (fsGroup-like). Unset: the
  // process's. Setting an owner needs CAP_CHOWN; a group needs membership of it (or CAP_CHOWN).
  std::optional<uid_t> owner;
  std::optional<gid_t> group;
  // Timestamps of version directories. Null: the real clock.
  common::Clock* clock = nullptr;
};

// Writes a set of files into a directory with the kubelet's AtomicWriter layout, the one the
// Secrets Store CSI driver and every projected/secret volume use, so a consumer built for those
// (inotify on `..data`, or re-reading the files) works unchanged:
//
//   DIR/..2024_05_01_12_00_00.123456789/<key>   the real files of the current version
//   DIR/..data -> ..2024_05_01_12_00_00.123456789
//   DIR/<top> -> ..data/<top>                   one symlink per top-level key component
//   DIR/..lock                                  flock()ed by the writer (see thread-safety)
//
// An update writes a complete new version directory (every file fsync'd, modes set), then swaps
// `..data` to it with one rename(2), then adds/removes the visible symlinks, then deletes the old
// version. So a reader — and a kill -9 of the writer at any moment — sees the old or the new
// version, never a mix or a partial file. A failed write leaves the old version in place.
//
// Nested keys ("a/b") are supported as the kubelet does: the real file is `<version>/a/b`, and the
// only visible symlink is `a -> ..data/a`.
//
// Keys: relative, '/'-separated, no empty, "." or ".." component, no component starting with ".."
// (reserved for `..data`, `..data_tmp`, `..lock` and the version directories), no NUL, each
// component at most 255 bytes, the whole key at most 1024 bytes, and no key both a file and a
// directory ("a" and "a/b"). A single leading dot is allowed: ".dockerconfigjson" is a common key.
//
// Directory modes: 0700, plus 0050 when any file's mode grants group bits, plus 0005 when any file
// grants others bits (only when the caller asks for world-readable files). Applied to the version
// directory, its subdirectories and the target directory itself; missing parents of the target
// directory are created with the same mode.
//
// Thread-safety: an AtomicDirWriter holds no mutable state; any number of threads and processes
// may call it. Calls for the same target directory are serialised by an exclusive flock(2) on
// DIR/..lock, so two writers (threads or processes) never interleave on one target.
class AtomicDirWriter {
 public:
  explicit AtomicDirWriter(AtomicWriteOptions options = {});

  // Makes `dir` hold exactly `files`. Compares before it writes: when the current version has the
  // same key set, bytes, modes (and owner/group when set), nothing is touched — no new directory,
  // no symlink swap, no mtime change — and the result has changed == false. Leftovers of an
  // earlier crash (`..data_tmp`, orphaned version directories, missing or stale visible symlinks)
  // are repaired either way.
  //
  // @return InvalidArgument naming the key for a bad key or mode; FailedPrecondition when a
  //   visible name or `..data` is taken by something this writer did not create; the errno-derived
  //   status naming the path for I/O failures, with the old content left intact.
  absl::StatusOr<AtomicWriteResult> write(const std::string& dir, const FileMap& files) const;

  // Deletes a target written by write(): visible symlinks first (readers see the files go away,
  // never a half-deleted version), then `..data`, the version directories, `..data_tmp` and
  // `..lock`, then the directory itself when nothing foreign is left in it. A missing directory is
  // OK; safe on a partially written target.
  absl::Status remove(const std::string& dir) const;

  // @return OK or InvalidArgument naming the key; see the class comment for the rules.
  static absl::Status validateKey(const std::string& key);

 private:
  AtomicWriteOptions options_;
};

}  // namespace secretsync::sync
