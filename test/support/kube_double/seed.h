#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "test/support/kube_double/kube_double.h"

namespace secretsync::test::kube {

// Reads a seed: YAML (one or more `---` documents) or JSON, each document an object, a JSON
// array of objects, or a `kind: List` with `items`. @return the objects in order.
absl::StatusOr<std::vector<nlohmann::json>> parseSeed(const std::string& text);

// Puts every object into `kube` in order. Namespaces keep their labels; a namespaced object
// whose namespace does not exist yet gets it created first. Errors name the object.
absl::Status applySeed(KubeDouble& kube, const std::vector<nlohmann::json>& objects);

}  // namespace secretsync::test::kube
