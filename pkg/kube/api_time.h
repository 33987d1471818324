#pragma once

#include <string>

#include "pkg/common/clock.h"

namespace secretsync::kube {

// `Time` (kubernetes-api.md §0.2): RFC 3339, whole seconds, UTC: "2026-08-01T12:00:05Z".
// Event first/lastTimestamp, condition lastTransitionTime.
std::string formatTime(common::SystemTime t);

// `MicroTime`: RFC 3339 with exactly 6 fractional digits, UTC: "2026-08-01T12:00:05.123456Z".
// Lease acquireTime/renewTime, events.k8s.io eventTime.
std::string formatMicroTime(common::SystemTime t);

}  // namespace secretsync::kube
