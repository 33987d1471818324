#pragma once

// Propagation helpers for absl::Status / absl::StatusOr, as Envoy and gRPC spell them.
// absl 20220623 (Debian 12) has no such macros of its own.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SECRETSYNC_STATUS_CONCAT_INNER(a, b) a##b
#define SECRETSYNC_STATUS_CONCAT(a, b) SECRETSYNC_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status) once and returns it from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                                       \
  do {                                                              \
    const ::absl::Status secretsync_status_ = (expr);               \
    if (!secretsync_status_.ok()) {                                 \
      return secretsync_status_;                                    \
    }                                                               \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, f());` evaluates f() (an absl::StatusOr<T>) once; on error returns its
// status, otherwise moves the value into `lhs`.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SECRETSYNC_ASSIGN_OR_RETURN_IMPL(SECRETSYNC_STATUS_CONCAT(statusor_, __LINE__), lhs, expr)

#define SECRETSYNC_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  if (!statusor.ok()) {                                       \
    return std::move(statusor).status();                      \
  }                                                           \
  lhs = std::move(statusor).value()
