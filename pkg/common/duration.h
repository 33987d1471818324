#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace secretsync::common {

// Parses a duration as Go's time.ParseDuration does, because that is how ESO and Kubernetes
// read `refreshInterval`, `retryInterval` and friends: an optional sign, then one or more
// "<decimal number><unit>" terms ("1h30m", "1.5h", "300ms", "-2s"), units ns, us, µs, μs, ms,
// s, m, h; "0" alone needs no unit. Whitespace, a missing unit, an unknown unit and a value
// outside ±2^63 ns are errors, as in Go.
// @return kInvalidArgument quoting the text (it is never a secret).
absl::StatusOr<absl::Duration> parseGoDuration(std::string_view text);

// Formats as Go's Duration.String(): "1h0m0s", "1m30s", "1.5s", "300ms", "0s". ESO writes
// refresh intervals back in this form, so printer columns and status read the same.
std::string formatGoDuration(absl::Duration d);

}  // namespace secretsync::common
