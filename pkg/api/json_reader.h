#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "pkg/api/field_errors.h"

namespace secretsync::api::internal {

// Reads the fields of one JSON object at a field path, recording into Diagnostics every field of
// the wrong type (kInvalid, as the API server's "must be of type string") and, when finish() is
// called, every field nobody asked for (a warning: forward compatibility, never an error).
// A null or absent object reads as empty, as a Go struct with omitempty does.
//
// Not thread-safe; one reader per object per parse.
class ObjectReader {
 public:
  // `object` may be null (absent field). A non-object value records kInvalid at `path`.
  ObjectReader(const nlohmann::json* object, std::string path, Diagnostics& diag);

  const std::string& path() const { return path_; }
  std::string pathOf(std::string_view key) const;
  bool present() const { return object_ != nullptr; }
  // True when `key` is present and not null.
  bool has(std::string_view key) const;

  std::optional<std::string> string(std::string_view key);
  // The string at `key` when it is one, without marking the field read or recording errors.
  std::optional<std::string> peekString(std::string_view key) const;
  // The string, or `fallback` when absent or empty.
  std::string stringOr(std::string_view key, std::string_view fallback);
  std::optional<bool> boolean(std::string_view key);
  std::optional<int64_t> integer(std::string_view key);
  // A nested object (nullptr when absent or null; kInvalid when not an object).
  const nlohmann::json* object(std::string_view key);
  // A list (nullptr when absent or null; kInvalid when not a list).
  const nlohmann::json* array(std::string_view key);
  // A map of string to string (labels, annotations, template data).
  std::map<std::string, std::string> stringMap(std::string_view key);
  std::vector<std::string> stringList(std::string_view key);
  // Marks a field as recognised and, when present, reports it as unsupported by name.
  void unsupported(std::string_view key, std::string detail = "");
  // Marks a field as recognised without reading it (read elsewhere, or irrelevant to us).
  void ignore(std::string_view key) { seen_.insert(std::string(key)); }

  // Records every field not asked for as an unknown-field warning.
  void finish();

 private:
  const nlohmann::json* get(std::string_view key);

  const nlohmann::json* object_ = nullptr;
  std::string path_;
  Diagnostics& diag_;
  std::set<std::string> seen_;
};

std::string indexPath(std::string_view path, size_t i);
std::string keyPath(std::string_view path, std::string_view key);

}  // namespace secretsync::api::internal
