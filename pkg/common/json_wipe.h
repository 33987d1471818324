#pragma once

#include "nlohmann/json.hpp"

namespace secretsync::common {

// Zeroes every string value (and binary value) in `value`, at any depth, leaving them empty; the
// structure and the object keys stay. For parsed replies that carried secrets (a KV read, a login's
// client_token) once what we need has been taken out of them: nlohmann frees its strings without
// clearing them.
//
// Not wiped: object keys (names, not values), numbers and booleans, and copies nlohmann made while
// parsing (a string that grew was reallocated, and the old buffer was freed as it was).
void wipeJsonStrings(nlohmann::json& value);

}  // namespace secretsync::common
