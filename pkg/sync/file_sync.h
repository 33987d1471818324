#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "pkg/sync/atomic_dir_writer.h"
#include "pkg/sync/manifest_set.h"
#include "pkg/sync/secret_data_builder.h"

namespace secretsync::sync {

// What one sync of one ExternalSecret did.
struct FileSyncResult {
  // "<namespace>/<name>" of the ExternalSecret.
  std::string object;
  // OUTPUT/<namespace>/<target name>.
  std::string target_dir;
  // Files were written (false: unchanged, skipped or failed).
  bool changed = false;
  // Nothing to do: creationPolicy None, or no data with deletionPolicy Retain (see note).
  bool skipped = false;
  // The target directory was removed: no data and deletionPolicy Delete.
  bool removed = false;
  std::string note;
  // The key names written (never values).
  std::vector<std::string> keys;
  // "<namespace>/<name>: <field>: <reason>" lines; empty on success.
  std::vector<std::string> failures;
  // Whether retrying may help (store down, secret missing); false for a bad spec.
  bool retryable = false;

  bool ok() const { return failures.empty(); }
};

// `secretsync sync`'s sink: builds each ExternalSecret of a ManifestSet with a SecretDataBuilder
// and writes its target as files OUTPUT/<namespace>/<target name>/<key> with AtomicDirWriter
// (owner-only files, the kubelet's atomic layout, nothing written when nothing changed).
// A failure never touches what is on disk (design invariant 1). As ESO: creationPolicy None
// writes nothing; a build that yields no data keeps the old files (deletionPolicy Retain) or
// removes the target (Delete). An ExternalSecret with diagnostics that are not ok(), or whose
// target an earlier ExternalSecret of the set already writes, fails with terminal errors.
//
// Thread-safety: syncOne() may be called from many threads for different indices; the
// ManifestSet and builder must outlive it.
class FileSync {
 public:
  FileSync(const ManifestSet& manifests, const SecretDataBuilder& builder, std::string output_dir,
           AtomicWriteOptions write_options = {});

  // Syncs manifests.external_secrets[index].
  FileSyncResult syncOne(size_t index) const;

 private:
  const ManifestSet& manifests_;
  const SecretDataBuilder& builder_;
  const std::string output_dir_;
  const AtomicDirWriter writer_;
  const std::map<size_t, size_t> duplicates_;
};

}  // namespace secretsync::sync
