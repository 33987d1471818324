#include "pkg/store/store_client.h"

#include "absl/strings/cord.h"

namespace secretsync::store {
namespace {

// Type URL of the payload; a kNotFound without it is "Missing" to nobody, so callers outside the
// store (which build their own NotFound) are never mistaken for a store answer.
constexpr std::string_view kReasonPayload = "type.secretsync.io/store.NotFoundReason";

std::string_view reasonName(NotFoundReason reason) {
  switch (reason) {
    case NotFoundReason::Missing:
      return "missing";
    case NotFoundReason::Deleted:
      return "deleted";
    case NotFoundReason::Destroyed:
      return "destroyed";
  }
  return "missing";
}

}  // namespace

absl::Status notFoundError(NotFoundReason reason, std::string_view message) {
  absl::Status status = absl::NotFoundError(message);
  status.SetPayload(kReasonPayload, absl::Cord(reasonName(reason)));
  return status;
}

std::optional<NotFoundReason> notFoundReason(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kNotFound) {
    return std::nullopt;
  }
  const std::optional<absl::Cord> payload = status.GetPayload(kReasonPayload);
  if (!payload.has_value()) {
    return std::nullopt;
  }
  for (NotFoundReason reason :
       {NotFoundReason::Missing, NotFoundReason::Deleted, NotFoundReason::Destroyed}) {
    if (*payload == reasonName(reason)) {
      return reason;
    }
  }
  return std::nullopt;
}

}  // namespace secretsync::store
