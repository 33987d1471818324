#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "test/support/kube_double/resource_types.h"

namespace secretsync::test::kube {

// What a list `continue` token carries: the list's resourceVersion and the last key served.
struct ContinueToken {
  uint64_t rv = 0;
  std::string ns;
  std::string name;
};

// Opaque to clients (base64url of a small JSON document).
std::string encodeContinueToken(const ContinueToken& token);
// nullopt for anything this double did not issue.
std::optional<ContinueToken> decodeContinueToken(const std::string& text);

// The fields a fieldSelector may name for `type` (metadata.name, metadata.namespace, and the
// type's own: Secret `type`, Event involvedObject.*, reason, type).
std::vector<std::string> selectableFields(const ResourceType& type);

}  // namespace secretsync::test::kube
