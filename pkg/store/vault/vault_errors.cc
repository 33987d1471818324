#include "pkg/store/vault/vault_errors.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/utf8.h"
#include "pkg/store/store_client.h"

namespace secretsync::store::vault {
namespace {

using common::av;

// Longest quoted Vault message, and longest joined list of them: enough for any real Vault error,
// short enough that a server echoing a huge input cannot flood logs, events or status.
constexpr size_t kMaxMessage = 256;
constexpr size_t kMaxJoined = 512;
// At most this many `errors` entries are quoted.
constexpr size_t kMaxMessages = 8;

// Takes Go's multierror list format apart: "N error(s) occurred:\n\t* a\n\t* b\n\n" → {a, b}. Any
// other text is one message.
std::vector<std::string> unwrapMultierror(absl::string_view text) {
  const size_t header_end = text.find(" occurred:\n");
  if (header_end != absl::string_view::npos) {
    const absl::string_view header = text.substr(0, header_end);
    absl::string_view count = header;
    // ConsumeSuffix leaves `count` alone when it does not match, so the second test sees it whole.
    if (absl::ConsumeSuffix(&count, " errors") || absl::ConsumeSuffix(&count, " error")) {
      int n = 0;
      if (absl::SimpleAtoi(count, &n) && n > 0) {
        absl::string_view rest = text.substr(header_end + absl::string_view(" occurred:\n").size());
        rest = absl::StripTrailingAsciiWhitespace(rest);
        if (absl::ConsumePrefix(&rest, "\t* ")) {
          std::vector<std::string> items;
          for (absl::string_view item : absl::StrSplit(rest, "\n\t* ")) {
            items.emplace_back(absl::StripAsciiWhitespace(item));
          }
          return items;
        }
      }
    }
  }
  return {std::string(absl::StripAsciiWhitespace(text))};
}

// Vault's `errors` strings, unwrapped; the body is otherwise never looked at, because engine
// replies with a body (a KV 404 envelope) can hold metadata we do not echo.
std::vector<std::string> vaultErrors(const nlohmann::json& body) {
  std::vector<std::string> messages;
  if (!body.is_object()) {
    return messages;
  }
  const auto it = body.find("errors");
  if (it == body.end() || !it->is_array()) {
    return messages;
  }
  for (const nlohmann::json& entry : *it) {
    if (!entry.is_string()) {
      continue;
    }
    for (std::string& message : unwrapMultierror(entry.get_ref<const std::string&>())) {
      if (message.empty()) {
        continue;
      }
      if (messages.size() == kMaxMessages) {
        messages.emplace_back("...");
        return messages;
      }
      messages.push_back(common::shortenUtf8(common::flattenControls(message), kMaxMessage));
    }
  }
  return messages;
}

// `needle` must be lower case.
bool anyContains(const std::vector<std::string>& messages, absl::string_view needle) {
  for (const std::string& message : messages) {
    if (absl::StrContains(absl::AsciiStrToLower(message), needle)) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::Status statusFromReply(const VaultReply& reply, std::string_view method,
                             std::string_view what) {
  const int status = reply.status;
  if (status >= 200 && status <= 299) {
    return absl::OkStatus();
  }
  const std::vector<std::string> messages = vaultErrors(reply.body);
  std::string message = absl::StrCat("vault ", av(method), " ", av(what), ": HTTP ", status);
  if (!messages.empty()) {
    absl::StrAppend(&message, ": ", common::shortenUtf8(absl::StrJoin(messages, "; "), kMaxJoined));
  }

  if (status == 400) {
    return absl::InvalidArgumentError(message);
  }
  if (status == 403 && anyContains(messages, "invalid token")) {
    return absl::UnauthenticatedError(message);
  }
  if (status == 401 || status == 403) {
    return absl::PermissionDeniedError(message);
  }
  if (status == 404) {
    return notFoundError(NotFoundReason::Missing, message);
  }
  if (status == 405) {
    return absl::UnimplementedError(message);
  }
  if (status == 501) {
    return absl::FailedPreconditionError(message);
  }
  if (status == 412 || status == 429 || (status >= 500 && status <= 599)) {
    return absl::UnavailableError(message);
  }
  return absl::UnknownError(message);
}

}  // namespace secretsync::store::vault
