#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "pkg/store/vault/vault_transport.h"

namespace secretsync::store::vault {

// Maps a non-2xx Vault reply to a Status. The one place where Vault statuses become codes:
//   400 kInvalidArgument · 403 with "invalid token" kUnauthenticated · other 401/403
//   kPermissionDenied · 404 kNotFound (Missing) · 405 kUnimplemented · 412, 429, 5xx but 501
//   kUnavailable · 501 kFailedPrecondition (not initialised) · anything else kUnknown.
// The message names the operation and `what` (a path), and quotes Vault's `errors` strings with
// the multierror wrapping ("1 error occurred:\n\t* ...") taken off, shortened; never the body.
// @return OK for 2xx.
absl::Status statusFromReply(const VaultReply& reply, std::string_view method,
                             std::string_view what);

}  // namespace secretsync::store::vault
