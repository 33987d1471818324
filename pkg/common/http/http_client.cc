#include "pkg/common/http/http_client.h"

#include "absl/strings/match.h"
#include "pkg/common/absl_view.h"

namespace secretsync::common::http {

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, av(name))) {
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace secretsync::common::http
