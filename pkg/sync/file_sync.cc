#include "pkg/sync/file_sync.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace secretsync::sync {

FileSync::FileSync(const ManifestSet& manifests, const SecretDataBuilder& builder,
                   std::string output_dir, AtomicWriteOptions write_options)
    : manifests_(manifests),
      builder_(builder),
      output_dir_(std::move(output_dir)),
      writer_(write_options),
      duplicates_(duplicateTargets(manifests)) {}

FileSyncResult FileSync::syncOne(size_t index) const {
  const ManifestObject<api::ExternalSecret>& entry = manifests_.external_secrets.at(index);
  const api::ExternalSecret& es = entry.object;
  FileSyncResult result;
  result.object = absl::StrCat(es.metadata.namespace_name, "/", es.metadata.name);
  const std::string target = es.spec.target.name.empty() ? es.metadata.name : es.spec.target.name;
  result.target_dir = absl::StrCat(output_dir_, "/", es.metadata.namespace_name, "/", target);

  if (!entry.diagnostics.ok()) {
    for (const auto& e : entry.diagnostics.errors) {
      result.failures.push_back(absl::StrCat(result.object, ": ", e.toString()));
    }
    for (const auto& e : entry.diagnostics.unsupported) {
      result.failures.push_back(absl::StrCat(result.object, ": ", e.toString()));
    }
    return result;
  }
  if (auto it = duplicates_.find(index); it != duplicates_.end()) {
    const api::ExternalSecret& first = manifests_.external_secrets[it->second].object;
    result.failures.push_back(
        absl::StrCat(result.object, ": spec.target.name: Secret \"", es.metadata.namespace_name,
                     "/", target, "\" is also the target of ExternalSecret ",
                     first.metadata.namespace_name, "/", first.metadata.name));
    return result;
  }
  if (es.spec.target.creation_policy == api::CreationPolicy::kNone) {
    result.skipped = true;
    result.note = "creationPolicy None: nothing written";
    return result;
  }

  absl::StatusOr<DesiredSecret> desired = builder_.build(es);
  if (!desired.ok()) {
    result.failures.push_back(std::string(desired.status().message()));
    result.retryable = isRetryable(desired.status());
    return result;
  }
  if (desired->data.empty()) {
    if (es.spec.target.deletion_policy == api::DeletionPolicy::kDelete) {
      if (absl::Status removed = writer_.remove(result.target_dir); !removed.ok()) {
        result.failures.push_back(absl::StrCat(result.object, ": ", removed.message()));
        result.retryable = true;
        return result;
      }
      result.removed = true;
      result.note = "no data in the store: target removed (deletionPolicy Delete)";
      return result;
    }
    if (es.spec.target.deletion_policy == api::DeletionPolicy::kRetain) {
      result.skipped = true;
      result.note = "no data in the store: files kept as they are (deletionPolicy Retain)";
      return result;
    }
  }

  FileMap files;
  for (const auto& [key, value] : desired->data) {
    files.emplace(key, FileContent{value, 0600});
    result.keys.push_back(key);
  }
  absl::StatusOr<AtomicWriteResult> written = writer_.write(result.target_dir, files);
  if (!written.ok()) {
    result.failures.push_back(
        absl::StrCat(result.object, ": ", result.target_dir, ": ", written.status().message()));
    result.retryable = true;
    return result;
  }
  result.changed = written->changed;
  return result;
}

}  // namespace secretsync::sync
