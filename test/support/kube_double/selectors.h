#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace secretsync::test::kube {

// A parsed labelSelector: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`,
// requirements joined by commas (all must hold).
//
// Thread-safety: immutable after parse; safe to share.
class LabelSelector {
 public:
  // Fails with kInvalidArgument on malformed input.
  static absl::StatusOr<LabelSelector> parse(const std::string& text);
  // `labels` is metadata.labels (an object, or null).
  bool matches(const nlohmann::json& labels) const;
  bool empty() const { return requirements_.empty(); }

 private:
  enum class Op { kEquals, kNotEquals, kExists, kNotExists, kIn, kNotIn };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements_;
};

// A parsed fieldSelector over a fixed set of fields (`f=v`, `f==v`, `f!=v`, comma-joined).
//
// Thread-safety: immutable after parse; safe to share.
class FieldSelector {
 public:
  // `allowed` are the selectable fields ("metadata.name", "metadata.namespace", "type"); any
  // other field is kInvalidArgument (a 400 from the server).
  static absl::StatusOr<FieldSelector> parse(const std::string& text,
                                             const std::vector<std::string>& allowed);
  bool matches(const nlohmann::json& object) const;

 private:
  struct Requirement {
    std::string field;
    bool equals;
    std::string value;
  };
  std::vector<Requirement> requirements_;
};

}  // namespace secretsync::test::kube
