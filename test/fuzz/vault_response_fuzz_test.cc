// Fuzz target for everything that reads a Vault reply: the body parser of the transport, the KV
// parsers, the login/renew/lookup-self parsers and the error mapping. Inputs are reply bodies (the corpus holds real-shaped ones).
// Beyond "no crash", it checks the invariants callers rely on.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "pkg/store/vault/auth_reply.h"
#include "pkg/store/vault/http_vault_transport.h"
#include "pkg/store/vault/kv_response.h"
#include "pkg/store/vault/vault_errors.h"
#include "pkg/store/vault/vault_kv_client.h"

namespace {

using secretsync::store::vault::VaultReply;

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

void fuzzParsers(const nlohmann::json& body) {
  namespace v = secretsync::store::vault;
  const auto read = v::parseKvV2Read(body);
  if (read.ok()) {
    // Data only when found, and then always an object.
    check(read->state != v::KvReadState::kFound || read->secret.data.is_object());
  } else {
    check(read.status().code() == absl::StatusCode::kDataLoss);
  }
  const auto v1 = v::parseKvV1Read(body);
  check(v1.ok() ? v1->data.is_object() : v1.status().code() == absl::StatusCode::kDataLoss);
  const auto metadata = v::parseKvV2Metadata(body);
  check(metadata.ok() || metadata.status().code() == absl::StatusCode::kDataLoss);
  const auto keys = v::parseListKeys(body);
  check(keys.ok() || keys.status().code() == absl::StatusCode::kDataLoss);
  const auto mount = v::parseMountInfo(body);
  if (mount.ok()) {
    check(!mount->path.empty() && mount->path.back() == '/');
    check(mount->kv_version == 1 || mount->kv_version == 2);
  } else {
    check(mount.status().code() == absl::StatusCode::kDataLoss);
  }

  const auto login = v::parseAuthBlock(body, "login");
  check(login.ok() || login.status().code() == absl::StatusCode::kDataLoss);
  if (login.ok()) {
    check(!login->token.empty() && login->lease_duration.count() >= 0);
  }
  const auto lookup = v::parseLookupSelf(body, "lookup-self");
  check(lookup.ok() || lookup.status().code() == absl::StatusCode::kDataLoss);

  VaultReply reply;
  reply.body = body;
  for (const int status : {200, 400, 403, 404, 412, 429, 500, 501, 503, 307}) {
    reply.status = status;
    const absl::Status mapped = secretsync::store::vault::statusFromReply(reply, "read", "p");
    check(mapped.ok() == (status == 200));
    // Bounded whatever the body holds: messages go to logs, events and status.
    check(mapped.message().size() < 1024);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<nlohmann::json> body = secretsync::store::vault::parseReplyBody(input);
  if (body.ok()) {
    fuzzParsers(*body);
  } else {
    check(body.status().code() == absl::StatusCode::kDataLoss);
  }
  // The raw bytes as a user path: validation must never crash, whatever it decides.
  (void)secretsync::store::vault::validateSecretPath(input, /*allow_trailing_slash=*/true);
  (void)secretsync::store::vault::escapeVaultPath(input);
  return 0;
}
