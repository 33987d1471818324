#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace secretsync::common {

// Bounds on what one YAML text may expand to. Aliases make a small text expand to a large tree
// (the "billion laughs"), so the limits are on the produced JSON, not only on the input.
struct YamlLimits {
  size_t max_input_bytes = 8 * 1024 * 1024;
  // Nesting of mappings and sequences.
  int max_depth = 64;
  // JSON values produced over all documents (every scalar, mapping and sequence counts one).
  size_t max_nodes = 1'000'000;
  // Bytes of scalar text produced over all documents, counted again each time an alias repeats.
  size_t max_scalar_bytes = 64 * 1024 * 1024;
};

// Converts a YAML stream (one or more `---`-separated documents) to JSON values, the way
// Kubernetes reads a manifest (sigs.k8s.io/yaml over go-yaml v2, a YAML 1.1 reading):
//   - a quoted or `!!str`-tagged scalar stays a string;
//   - unquoted `true/false` (also `yes/no/on/off/y/n` in their YAML 1.1 spellings) are booleans,
//     `null`, `~` and empty are null, decimal/0x/0o/0b integers are integers (beyond int64: a
//     float, as go-yaml), decimal floats are floats; anything else a string (`.inf`/`.nan`
//     included, as JSON cannot hold them);
//   - anchors and aliases are resolved; `<<` merge keys are applied (explicit keys win);
//   - mapping keys become strings: a scalar key by its text as written (`on:` stays "on",
//     where go-yaml would make it "true"); a mapping or sequence as a key
//     and a duplicate key are errors;
//   - empty documents (a leading `---`, a comments-only document) are skipped.
// Never throws. @return kInvalidArgument naming the line ("line 3: ...") for a syntax error, a
// duplicate or complex key, bytes that are not UTF-8, or a nesting deeper than the limit;
// kResourceExhausted when the input or its expansion exceeds `limits`. Messages never quote a
// scalar value.
absl::StatusOr<std::vector<nlohmann::json>> yamlToJson(std::string_view yaml,
                                                       const YamlLimits& limits = {});

// The same for text that must hold exactly one document (kInvalidArgument otherwise).
absl::StatusOr<nlohmann::json> yamlToJsonSingle(std::string_view yaml,
                                                const YamlLimits& limits = {});

}  // namespace secretsync::common
