#include "pkg/api/json_reader.h"

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"

namespace secretsync::api::internal {
namespace {

using common::av;
using nlohmann::json;

const char* typeName(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    default:
      return "null";
  }
}

}  // namespace

std::string indexPath(std::string_view path, size_t i) {
  return absl::StrCat(av(path), "[", i, "]");
}

std::string keyPath(std::string_view path, std::string_view key) {
  // Map keys as the API server prints them: spec.template.data[tls.crt].
  return absl::StrCat(av(path), "[", av(key), "]");
}

ObjectReader::ObjectReader(const json* object, std::string path, Diagnostics& diag)
    : path_(std::move(path)), diag_(diag) {
  if (object == nullptr || object->is_null()) {
    return;
  }
  if (!object->is_object()) {
    diag_.invalid(path_, typeName(*object), "must be of type object");
    return;
  }
  object_ = object;
}

std::string ObjectReader::pathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", av(key));
}

bool ObjectReader::has(std::string_view key) const {
  if (object_ == nullptr) {
    return false;
  }
  auto it = object_->find(key);
  return it != object_->end() && !it->is_null();
}

const json* ObjectReader::get(std::string_view key) {
  seen_.insert(std::string(key));
  if (object_ == nullptr) {
    return nullptr;
  }
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> ObjectReader::string(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_string()) {
    diag_.invalid(pathOf(key), typeName(*v), "must be of type string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<std::string> ObjectReader::peekString(std::string_view key) const {
  if (object_ == nullptr) {
    return std::nullopt;
  }
  auto it = object_->find(key);
  if (it == object_->end() || !it->is_string()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::string ObjectReader::stringOr(std::string_view key, std::string_view fallback) {
  std::optional<std::string> v = string(key);
  return v.has_value() && !v->empty() ? *v : std::string(fallback);
}

std::optional<bool> ObjectReader::boolean(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_boolean()) {
    diag_.invalid(pathOf(key), typeName(*v), "must be of type boolean");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<int64_t> ObjectReader::integer(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_number_integer()) {
    return v->get<int64_t>();
  }
  if (v->is_number_unsigned()) {
    diag_.invalid(pathOf(key), "integer", "out of range");
    return std::nullopt;
  }
  diag_.invalid(pathOf(key), typeName(*v), "must be of type integer");
  return std::nullopt;
}

const json* ObjectReader::object(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) {
    return nullptr;
  }
  if (!v->is_object()) {
    diag_.invalid(pathOf(key), typeName(*v), "must be of type object");
    return nullptr;
  }
  return v;
}

const json* ObjectReader::array(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) {
    return nullptr;
  }
  if (!v->is_array()) {
    diag_.invalid(pathOf(key), typeName(*v), "must be of type array");
    return nullptr;
  }
  return v;
}

std::map<std::string, std::string> ObjectReader::stringMap(std::string_view key) {
  std::map<std::string, std::string> out;
  const json* v = object(key);
  if (v == nullptr) {
    return out;
  }
  const std::string path = pathOf(key);
  for (const auto& [k, item] : v->items()) {
    if (!item.is_string()) {
      diag_.invalid(keyPath(path, k), typeName(item), "must be of type string");
      continue;
    }
    out.emplace(k, item.get<std::string>());
  }
  return out;
}

std::vector<std::string> ObjectReader::stringList(std::string_view key) {
  std::vector<std::string> out;
  const json* v = array(key);
  if (v == nullptr) {
    return out;
  }
  const std::string path = pathOf(key);
  for (size_t i = 0; i < v->size(); ++i) {
    const json& item = (*v)[i];
    if (!item.is_string()) {
      diag_.invalid(indexPath(path, i), typeName(item), "must be of type string");
      continue;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

void ObjectReader::unsupported(std::string_view key, std::string detail) {
  if (get(key) != nullptr) {
    diag_.unsupportedField(pathOf(key), std::move(detail));
  }
}

void ObjectReader::finish() {
  if (object_ == nullptr) {
    return;
  }
  for (const auto& [k, v] : object_->items()) {
    if (seen_.count(k) == 0) {
      diag_.unknownField(pathOf(k));
    }
  }
}

}  // namespace secretsync::api::internal
