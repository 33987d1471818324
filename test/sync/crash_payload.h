#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "absl/strings/str_cat.h"
#include "pkg/sync/atomic_dir_writer.h"

namespace secretsync::sync::testing {

// The versions the crash helper and the tests rotate through. Every file names its version and
// key, and its length varies with the version, so a mix of versions or a partial file is caught.
// Odd versions have one key more ("extra") and a group-readable mode, so key-set and mode changes
// are rotated through too.

inline std::vector<std::string> payloadKeys(int64_t version) {
  std::vector<std::string> keys = {".hidden", "a", "b.txt", "nested/x", "nested/deeper/y"};
  if (version % 2 != 0) {
    keys.push_back("extra");
  }
  return keys;
}

inline mode_t payloadMode(int64_t version) { return version % 2 != 0 ? 0640 : 0600; }

inline std::string payloadContent(int64_t version, const std::string& key) {
  return absl::StrCat("v", version, ":", key, ":",
                      std::string(100 + static_cast<size_t>(version % 7) * 1000, 'x'));
}

inline FileMap payload(int64_t version) {
  FileMap files;
  for (const std::string& key : payloadKeys(version)) {
    files[key] =
        FileContent{common::SecretString(payloadContent(version, key)), payloadMode(version)};
  }
  return files;
}

}  // namespace secretsync::sync::testing
