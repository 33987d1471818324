#pragma once

#include <optional>
#include <string>

#include "test/support/http_server.h"
#include "test/support/vault_double/faults.h"

namespace secretsync::test::kube {

// Fault rules of the Kubernetes double reuse the Vault double's FaultRule and FaultInjector:
// `path_prefix` is matched against the whole request path ("/api/v1/namespaces/app/secrets").
// A rule with a status replies instead of the API; one without adds its latency, connection drop
// and headers (such as `Warning: 299 - "..."`) to the real reply.
using FaultRule = vault::FaultRule;

// 429 in API Priority and Fairness' plain-text form, with Retry-After and the PF headers.
FaultRule tooManyRequestsFault(int retry_after_seconds, int times = -1);
// A Status failure (503 ServiceUnavailable, 500 InternalError, 504 Timeout, ...) with
// details.retryAfterSeconds and Retry-After when `retry_after_seconds` is set.
FaultRule statusFault(int code, const std::string& reason, const std::string& message,
                      std::optional<int> retry_after_seconds = std::nullopt, int times = -1);

// The reply a matched rule with a status describes (body as set; JSON if it starts with '{').
HttpServerResponse kubeFaultResponse(const FaultRule& rule);

}  // namespace secretsync::test::kube
