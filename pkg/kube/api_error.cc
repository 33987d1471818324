#include "pkg/kube/api_error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "pkg/common/absl_view.h"
#include "pkg/common/utf8.h"

namespace secretsync::kube {
namespace {

constexpr std::string_view kPayloadUrl = "type.secretsync.dev/kube.ApiError";
// Longest server message quoted: real Status messages are a line or a few causes.
constexpr size_t kMaxServerMessage = 1024;

absl::StatusCode codeFor(int http_status, std::string_view reason) {
  switch (http_status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? absl::StatusCode::kAlreadyExists
                                       : absl::StatusCode::kAborted;
    case 410:
      return absl::StatusCode::kOutOfRange;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 500:
      return absl::StatusCode::kInternal;
    case 503:
      return absl::StatusCode::kUnavailable;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return http_status >= 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

// The reason a server sends with a plain-text body of this code (§0.5).
std::string_view reasonForCode(int http_status) {
  switch (http_status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

// Payload: "<http_status> <retry_after seconds or -1> <reason>".
std::string encode(const ApiErrorInfo& info) {
  return absl::StrCat(info.http_status, " ", info.retry_after ? info.retry_after->count() : -1, " ",
                      info.reason);
}

}  // namespace

absl::Status apiError(const ApiErrorInfo& info, std::string_view message) {
  absl::Status status(codeFor(info.http_status, info.reason), common::av(message));
  status.SetPayload(common::av(kPayloadUrl), absl::Cord(encode(info)));
  return status;
}

absl::Status apiErrorFromReply(int http_status, std::string_view body,
                               std::string_view retry_after_header, std::string_view what) {
  ApiErrorInfo info{.http_status = http_status, .reason = std::string(reasonForCode(http_status))};
  std::string message = absl::StrCat("HTTP ", http_status);
  int64_t seconds = 0;
  if (absl::SimpleAtoi(common::av(retry_after_header), &seconds) && seconds >= 0) {
    info.retry_after = std::chrono::seconds(seconds);
  }
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  // Compared, not converted: a reply whose "kind" is not a string is simply not a Status.
  if (parsed.is_object() && parsed.contains("kind") && parsed.at("kind") == "Status") {
    if (const auto it = parsed.find("reason");
        it != parsed.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      info.reason = it->get<std::string>();
    }
    if (const auto it = parsed.find("message"); it != parsed.end() && it->is_string()) {
      // Quoted on one line and bounded: it goes into logs, conditions and events, and a server
      // (or a webhook behind it) may send a megabyte or forge log lines.
      message = common::shortenUtf8(common::flattenControls(it->get_ref<const std::string&>()),
                                    kMaxServerMessage);
    }
    const auto details = parsed.find("details");
    if (!info.retry_after && details != parsed.end() && details->is_object()) {
      const auto retry = details->find("retryAfterSeconds");
      if (retry != details->end() && retry->is_number_integer() && retry->get<int64_t>() >= 0) {
        info.retry_after = std::chrono::seconds(retry->get<int64_t>());
      }
    }
  } else if (http_status == 404) {
    // Go's http.NotFound: the path is not served at all (an API group that is not installed).
    message = "the server could not find the requested resource";
  }
  if (info.reason == "Gone") info.reason = "Expired";  // servers before 1.18 (§0.4)
  return apiError(info, absl::StrCat(common::av(what), ": ", message));
}

std::optional<ApiErrorInfo> apiErrorInfo(const absl::Status& status) {
  const auto payload = status.GetPayload(common::av(kPayloadUrl));
  if (!payload) return std::nullopt;
  const std::string text(*payload);
  const size_t first = text.find(' ');
  const size_t second = first == std::string::npos ? first : text.find(' ', first + 1);
  if (second == std::string::npos) return std::nullopt;
  ApiErrorInfo info;
  int64_t retry = -1;
  if (!absl::SimpleAtoi(absl::string_view(text.data(), first), &info.http_status) ||
      !absl::SimpleAtoi(absl::string_view(text.data() + first + 1, second - first - 1), &retry)) {
    return std::nullopt;
  }
  if (retry >= 0) info.retry_after = std::chrono::seconds(retry);
  info.reason = text.substr(second + 1);
  return info;
}

bool isNotFound(const absl::Status& status) {
  const auto info = apiErrorInfo(status);
  return info && info->http_status == 404;
}

bool isAlreadyExists(const absl::Status& status) {
  const auto info = apiErrorInfo(status);
  return info && info->http_status == 409 && info->reason == "AlreadyExists";
}

bool isConflict(const absl::Status& status) {
  const auto info = apiErrorInfo(status);
  return info && info->http_status == 409 && info->reason != "AlreadyExists";
}

bool isGone(const absl::Status& status) {
  const auto info = apiErrorInfo(status);
  return info && info->http_status == 410;
}

bool isRetryable(const absl::Status& status) {
  if (const auto info = apiErrorInfo(status)) {
    return info->http_status == 429 || info->http_status >= 500;
  }
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

}  // namespace secretsync::kube
