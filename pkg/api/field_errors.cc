#include "pkg/api/field_errors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pkg/common/absl_view.h"

namespace secretsync::api {
namespace {

using common::av;

// Values are quoted back as the API server quotes them; a hostile manifest must not make a
// status message huge, so they are cut.
constexpr size_t kMaxQuoted = 128;

std::string quote(std::string_view value) {
  std::string out = "\"";
  const std::string_view shown = value.substr(0, kMaxQuoted);
  for (char c : shown) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrCat("\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  if (value.size() > kMaxQuoted) {
    out += "...";
  }
  out += '"';
  return out;
}

}  // namespace

std::string FieldError::toString() const {
  switch (type) {
    case Type::kRequired:
      return absl::StrCat(field, ": Required value", detail.empty() ? "" : ": ", detail);
    case Type::kInvalid:
      return absl::StrCat(field, ": Invalid value: ", quote(value), detail.empty() ? "" : ": ",
                          detail);
    case Type::kNotSupported:
      return absl::StrCat(field, ": Unsupported value: ", quote(value),
                          detail.empty() ? "" : ": supported values: ", detail);
    case Type::kForbidden:
      return absl::StrCat(field, ": Forbidden: ", detail);
    case Type::kDuplicate:
      return absl::StrCat(field, ": Duplicate value: ", quote(value));
    case Type::kUnsupportedField:
      return absl::StrCat(field, ": Forbidden: not supported by secretsync yet",
                          detail.empty() ? "" : ": ", detail);
    case Type::kUnknownField:
      return absl::StrCat(field, ": unknown field");
  }
  return field;
}

void Diagnostics::invalid(std::string field, std::string_view value, std::string detail) {
  errors.push_back(
      {FieldError::Type::kInvalid, std::move(field), std::string(value), std::move(detail)});
}

void Diagnostics::notSupported(std::string field, std::string_view value,
                               std::initializer_list<std::string_view> supported) {
  std::vector<std::string> quoted;
  for (std::string_view s : supported) {
    quoted.push_back(quote(s));
  }
  errors.push_back({FieldError::Type::kNotSupported, std::move(field), std::string(value),
                    absl::StrJoin(quoted, ", ")});
}

void Diagnostics::duplicate(std::string field, std::string_view value) {
  errors.push_back({FieldError::Type::kDuplicate, std::move(field), std::string(value), ""});
}

std::string Diagnostics::reason() const {
  if (!errors.empty()) {
    return "InvalidSpec";
  }
  if (!unsupported.empty()) {
    return "UnsupportedField";
  }
  return "";
}

std::string Diagnostics::message() const {
  std::vector<std::string> lines;
  for (const FieldError& e : errors) {
    lines.push_back(e.toString());
  }
  for (const FieldError& e : unsupported) {
    lines.push_back(e.toString());
  }
  return absl::StrJoin(lines, "\n");
}

absl::Status Diagnostics::toStatus(std::string_view kind, std::string_view name) const {
  if (ok()) {
    return absl::OkStatus();
  }
  std::vector<std::string> parts;
  for (const FieldError& e : errors) {
    parts.push_back(e.toString());
  }
  for (const FieldError& e : unsupported) {
    parts.push_back(e.toString());
  }
  return absl::InvalidArgumentError(
      absl::StrCat(av(kind), " ", quote(name), " is invalid: ", parts.size() == 1 ? "" : "[",
                   absl::StrJoin(parts, ", "), parts.size() == 1 ? "" : "]"));
}

}  // namespace secretsync::api
