#include "pkg/common/http/http_client.h"

#include "absl/strings/match.h"

namespace secretsync::common::http {

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    // Debian's Abseil has its own string_view type, so spell the conversion out.
    if (absl::EqualsIgnoreCase(key, absl::string_view(name.data(), name.size()))) {
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace secretsync::common::http
