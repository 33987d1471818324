#include "pkg/store/store_client.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/utf8.h"

namespace secretsync::store {
namespace {

// Type URL of the payload; a kNotFound without it is "Missing" to nobody, so callers outside the
// store (which build their own NotFound) are never mistaken for a store answer.
constexpr std::string_view kReasonPayload = "type.secretsync.io/store.NotFoundReason";

using common::av;

// Longest part of a path quoted back in an error: the path is outside text (a pod's
// SecretProviderClass), which must not make a message huge or span lines.
constexpr size_t kMaxShownPath = 256;

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

absl::StatusOr<SecretRef> parseSecretRef(std::string_view text) {
  const std::string shown = common::shortenUtf8(common::flattenControls(text), kMaxShownPath);
  const size_t question = text.find('?');
  SecretRef ref{.path = std::string(text.substr(0, question))};
  if (ref.path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("secret path \"", shown, "\" is empty"));
  }
  if (question == std::string_view::npos) {
    return ref;
  }
  const std::string query(text.substr(question + 1));
  constexpr std::string_view kVersion = "version=";
  int64_t version = 0;
  if (query.rfind(kVersion, 0) != 0 ||
      !absl::SimpleAtoi(absl::string_view(query).substr(kVersion.size()), &version) ||
      version <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secret path \"", shown, "\": the only query accepted is ?version=N with N >= 1"));
  }
  ref.version = version;
  return ref;
}

absl::Status notFoundError(NotFoundReason reason, std::string_view message) {
  absl::Status status = absl::NotFoundError(av(message));
  status.SetPayload(av(kReasonPayload), absl::Cord(av(reasonName(reason))));
  return status;
}

std::optional<NotFoundReason> notFoundReason(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kNotFound) {
    return std::nullopt;
  }
  // absl::optional, which Debian's Abseil does not alias to std::optional.
  const absl::optional<absl::Cord> payload = status.GetPayload(av(kReasonPayload));
  if (!payload.has_value()) {
    return std::nullopt;
  }
  for (NotFoundReason reason :
       {NotFoundReason::Missing, NotFoundReason::Deleted, NotFoundReason::Destroyed}) {
    if (*payload == av(reasonName(reason))) {
      return reason;
    }
  }
  return std::nullopt;
}

}  // namespace secretsync::store
