#pragma once

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pkg/api/field_errors.h"
#include "pkg/common/yaml_json.h"

namespace secretsync::api::testing {

inline nlohmann::json yaml(const std::string& text) {
  auto doc = common::yamlToJsonSingle(text);
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? *doc : nlohmann::json();
}

inline std::vector<std::string> strings(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  for (const FieldError& e : errors) {
    out.push_back(e.toString());
  }
  return out;
}

}  // namespace secretsync::api::testing
