#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace secretsync::api {

// One finding about a field, formatted as the API server formats field.Error
// (k8s.io/apimachinery/pkg/util/validation/field), so a user sees the same text from
// `secretsync validate`, from status, and from kubectl:
//   spec.data[2].remoteRef.key: Required value
//   spec.target.creationPolicy: Unsupported value: "Foo": supported values: "Owner", "Orphan"
//   spec.refreshInterval: Invalid value: "1x": unknown unit
//   spec.target.templateFrom: Forbidden: not supported by secretsync yet
// Values quoted are spec values (names, paths, policies), never secret data; long ones are cut.
struct FieldError {
  enum class Type {
    kRequired,
    kInvalid,
    kNotSupported,  // a value outside an enum
    kForbidden,
    kDuplicate,
    kUnsupportedField,  // a field ESO has and secretsync does not implement (yet)
    kUnknownField,      // a field neither ESO nor we know: a warning only
  };
  Type type = Type::kInvalid;
  std::string field;
  // Quoted value for kInvalid/kNotSupported/kDuplicate; detail for the others.
  std::string value;
  std::string detail;

  std::string toString() const;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

// What parsing one resource found. `errors` make the spec invalid (the reconciler reports
// Ready=False, reason "InvalidSpec" — ESO's InvalidStoreConfiguration/SecretSyncedError — and does
// not retry until the object changes); `unsupported` are valid ESO fields secretsync does not
// implement (Ready=False, reason "UnsupportedField", each named); `warnings` are unknown fields,
// tolerated for forward compatibility.
//
// Thread-safety: a value type.
struct Diagnostics {
  std::vector<FieldError> errors;
  std::vector<FieldError> unsupported;
  std::vector<FieldError> warnings;

  // No errors and nothing unsupported: the resource can be acted on.
  bool ok() const { return errors.empty() && unsupported.empty(); }
  // A condition reason for a failed ok(): "InvalidSpec" when there are errors, else
  // "UnsupportedField"; "" when ok().
  std::string reason() const;
  // Kubernetes' aggregate form: `<kind> "<name>" is invalid: [e1, e2]` (errors, then unsupported
  // fields). OK when ok().
  absl::Status toStatus(std::string_view kind, std::string_view name) const;
  // Every error and unsupported field, one per line, as a condition message.
  std::string message() const;

  void required(std::string field) { errors.push_back({FieldError::Type::kRequired, field}); }
  void invalid(std::string field, std::string_view value, std::string detail);
  void notSupported(std::string field, std::string_view value,
                    std::initializer_list<std::string_view> supported);
  void forbidden(std::string field, std::string detail) {
    errors.push_back({FieldError::Type::kForbidden, std::move(field), "", std::move(detail)});
  }
  void duplicate(std::string field, std::string_view value);
  void unsupportedField(std::string field, std::string detail = "") {
    unsupported.push_back(
        {FieldError::Type::kUnsupportedField, std::move(field), "", std::move(detail)});
  }
  void unknownField(std::string field) {
    warnings.push_back({FieldError::Type::kUnknownField, std::move(field)});
  }
};

}  // namespace secretsync::api
