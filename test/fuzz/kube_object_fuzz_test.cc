// Fuzz target for the Kubernetes API server's replies as the controller reads them: the body of a
// failed request (a Status object or plain text) into an error; an existing Secret (what a GET or
// the informer hands over) through the Secret writer's planning and intact check; and any object
// through the readers that name it before any schema check (store keys, event references, an
// ExternalSecret's status).
// Beyond "no crash": an error reply never becomes OK, a planned write keeps the Secret's name and
// namespace, and no value of the desired data ever appears in an error message.
//
// Input layout: byte 0 picks the HTTP status (400 + b % 200), the rest is the reply body.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "pkg/api/external_secret.h"
#include "pkg/common/json_fields.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/event_recorder.h"
#include "pkg/sync/secret_data_builder.h"
#include "pkg/sync/secret_writer.h"
#include "pkg/sync/store_status_reconciler.h"

namespace {

namespace sync = secretsync::sync;

constexpr std::string_view kValue = "fuzz-secret-value-7f3a";

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

sync::DesiredSecret desired() {
  sync::DesiredSecret d;
  d.data.emplace("password", secretsync::common::SecretString(std::string(kValue)));
  d.data_hash = sync::esoDataHash(d.data);
  return d;
}

// `input_quotes_value`: the existing object itself carries the text of the desired value (the
// fuzzer learns it from comparisons), so an error quoting the object's own fields, as errors
// naming a foreign owner do, may show it without leaking anything.
void planAgainst(const nlohmann::json& existing, secretsync::api::CreationPolicy policy,
                 bool input_quotes_value) {
  sync::SecretTarget target;
  target.namespace_name = "apps";
  target.name = "db";
  target.creation_policy = policy;
  target.owner_api_version = "external-secrets.io/v1";
  target.owner_name = "db";
  target.owner_uid = "0b5c3f5e-0000-4000-8000-000000000001";
  const auto plan = sync::planSecretWrite(desired(), target, &existing);
  if (!plan.ok()) {
    check(input_quotes_value ||
          std::string_view(plan.status().message().data(), plan.status().message().size())
                  .find(kValue) == std::string_view::npos);
    return;
  }
  if (plan->has_value()) {
    const nlohmann::json& out = **plan;
    check(out.is_object() && out.contains("metadata") && out["metadata"].is_object());
    check(secretsync::common::metadataString(out, "name") == "db");
    check(secretsync::common::metadataString(out, "namespace") == "apps");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const int http_status = 400 + data[0] % 200;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const absl::Status error =
      secretsync::kube::apiErrorFromReply(http_status, body, body.substr(0, 8), "get secrets x/y");
  check(!error.ok());
  (void)secretsync::kube::apiErrorInfo(error);
  (void)secretsync::kube::isRetryable(error);

  const nlohmann::json existing = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (existing.is_discarded()) {
    return 0;
  }
  (void)sync::storeKey(existing);
  (void)secretsync::kube::objectReferenceOf(existing);
  (void)secretsync::api::ExternalSecretStatus::fromJson(
      secretsync::common::jsonMember(existing, "status"));
  (void)sync::secretIntact(existing);
  const bool input_quotes_value = body.find(kValue) != std::string_view::npos;
  for (const auto policy :
       {secretsync::api::CreationPolicy::kOwner, secretsync::api::CreationPolicy::kMerge,
        secretsync::api::CreationPolicy::kOrphan}) {
    planAgainst(existing, policy, input_quotes_value);
  }
  return 0;
}
