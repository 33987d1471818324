#include "pkg/kube/api_time.h"

#include "absl/time/time.h"

namespace secretsync::kube {
namespace {

// Fractions are truncated, not rounded, as Go's time.Format does.
std::string format(common::SystemTime t, const char* layout) {
  const auto micros = std::chrono::time_point_cast<std::chrono::microseconds>(t);
  return absl::FormatTime(layout, absl::FromChrono(micros), absl::UTCTimeZone());
}

}  // namespace

std::string formatTime(common::SystemTime t) { return format(t, "%Y-%m-%dT%H:%M:%SZ"); }

std::string formatMicroTime(common::SystemTime t) { return format(t, "%Y-%m-%dT%H:%M:%E6SZ"); }

}  // namespace secretsync::kube
