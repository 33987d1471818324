#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace secretsync::kube {

// An API server error as a Status: the HTTP code and the Status object's `reason` travel as a
// payload, so callers test the reason, never the message text (kubernetes-api.md §0.4, §0.5).
//
// Canonical codes: 400 kInvalidArgument, 401 kUnauthenticated, 403 kPermissionDenied,
// 404 kNotFound, 409 AlreadyExists kAlreadyExists, 409 Conflict kAborted, 410 kOutOfRange,
// 413 kInvalidArgument, 415 kInvalidArgument, 422 kInvalidArgument, 429 kResourceExhausted,
// 500 kInternal, 503 kUnavailable, 504 kDeadlineExceeded, anything else kUnknown.
struct ApiErrorInfo {
  int http_status = 0;
  std::string reason;  // "NotFound", "Conflict", "Expired", "TooManyRequests", ...
  // Retry-After header or details.retryAfterSeconds, when given.
  std::optional<std::chrono::seconds> retry_after;
};

// Builds the Status for an error reply. `message` is the server's message (or one built from the
// code for a plain-text body); it must not contain a secret value: Secret bodies are never echoed.
absl::Status apiError(const ApiErrorInfo& info, std::string_view message);

// Builds the Status for a reply with `http_status` and `body` (a Status object or plain text) and
// its Retry-After header value (empty when absent). `what` names the request ("get secrets
// ns/name") and is prefixed to the message.
absl::Status apiErrorFromReply(int http_status, std::string_view body,
                               std::string_view retry_after_header, std::string_view what);

// @return the payload of a Status built by apiError, or nullopt (transport errors, others).
std::optional<ApiErrorInfo> apiErrorInfo(const absl::Status& status);

bool isNotFound(const absl::Status& status);
bool isAlreadyExists(const absl::Status& status);
// 409 with reason Conflict: an update lost a resourceVersion race, or an apply conflict.
bool isConflict(const absl::Status& status);
// 410 (reason Expired or Gone): a list or watch from a compacted resourceVersion.
bool isGone(const absl::Status& status);
// Worth retrying after a backoff: 429, 5xx, and transport errors (kUnavailable,
// kDeadlineExceeded).
bool isRetryable(const absl::Status& status);

}  // namespace secretsync::kube
