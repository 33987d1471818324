#pragma once

#include <algorithm>
#include <string_view>

namespace secretsync::common {

// @return the deepest nesting of arrays and objects in the JSON text `text`, counting only
// brackets outside strings, stopping early once it exceeds `limit`. Needs no valid JSON.
//
// Parsing itself is iterative in nlohmann::json, but copies, comparisons and dump() of the result
// recurse once per level: a reply nested 100k deep would overflow the stack there, so callers
// refuse such text before parsing it.
inline int jsonNestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) {
        return deepest;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace secretsync::common
