#include "pkg/sync/store_status_reconciler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pkg/api/vault_provider.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_fields.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/api_time.h"
#include "pkg/sync/work_queue.h"

namespace secretsync::sync {
namespace {

using Json = nlohmann::json;

// Whether a ClusterSecretStore's credentials depend on the namespace that uses it (a reference
// without a namespace resolves to it).
bool namespaceDependent(const api::CompiledVaultStore& compiled) {
  const api::VaultCredentialPlan& plan = compiled.credentials;
  for (const auto* ref : {&plan.token_secret, &plan.jwt_secret, &plan.role_id_secret,
                          &plan.secret_id_secret, &compiled.ca_secret, &compiled.ca_config_map}) {
    if (ref->has_value() && (*ref)->namespace_name.empty()) return true;
  }
  return plan.token_request.has_value() && plan.token_request->namespace_name.empty();
}

}  // namespace

std::string storeKey(const Json& object) {
  const std::string name = common::metadataString(object, "name");
  if (common::jsonString(object, "kind") == "ClusterSecretStore") {
    return absl::StrCat("ClusterSecretStore/", name);
  }
  return absl::StrCat("SecretStore/", common::metadataString(object, "namespace"), "/", name);
}

StoreStatusReconciler::StoreStatusReconciler(Deps deps, ReconcileContext context,
                                             StoreStatusReconcilerOptions options)
    : deps_(deps), context_(std::move(context)), options_(std::move(options)) {}

ReconcileResult StoreStatusReconciler::reconcile(const std::string& key) {
  const std::vector<std::string> parts = absl::StrSplit(key, '/');
  const bool cluster = parts.size() == 2 && parts[0] == "ClusterSecretStore";
  if (!cluster && !(parts.size() == 3 && parts[0] == "SecretStore")) return {};
  const std::string ns = cluster ? "" : parts[1];
  const std::string& name = parts.back();
  const api::StoreKind kind =
      cluster ? api::StoreKind::kClusterSecretStore : api::StoreKind::kSecretStore;
  const metrics::StoreKind metrics_kind =
      cluster ? metrics::StoreKind::kClusterSecretStore : metrics::StoreKind::kSecretStore;
  const auto started = deps_.clock->monotonicNow();
  const kube::ObjectPtr object =
      (cluster ? deps_.cluster_secret_stores : deps_.secret_stores)->get(ns, name);
  if (object == nullptr) {
    deps_.resolver->forget(kind, ns, name);
    if (context_.metrics != nullptr) context_.metrics->removeStore(metrics_kind, ns, name);
    return {};
  }
  absl::StatusOr<api::Parsed<api::SecretStore>> parsed = api::parseSecretStore(*object);
  if (!parsed.ok()) return {};
  const api::SecretStore& store = parsed->object;
  if (store.spec.controller != context_.controller_class) return {};
  if (!store.metadata.deletion_timestamp.empty()) return {};

  api::Condition ready{
      .type = "Ready", .status = "True", .reason = "Valid", .message = "store validated"};
  bool retry = false;
  if (!parsed->diagnostics.ok()) {
    ready = {.type = "Ready",
             .status = "False",
             .reason = "InvalidStoreConfiguration",
             .message = parsed->diagnostics.message()};
  } else {
    absl::StatusOr<api::CompiledVaultStore> compiled =
        api::compileVaultStore(store, cluster ? "" : ns);
    if (!compiled.ok()) {
      ready = {.type = "Ready",
               .status = "False",
               .reason = "InvalidProviderConfig",
               .message = std::string(compiled.status().message())};
    } else if (cluster && namespaceDependent(*compiled)) {
      ready.message = "store spec valid; its credentials are read in each namespace that uses it";
    } else {
      absl::StatusOr<ResolvedStore> resolved = deps_.resolver->resolve(store, ns);
      absl::Status valid = resolved.ok() ? resolved->client->validate() : resolved.status();
      if (valid.code() == absl::StatusCode::kCancelled) {
        // The controller is stopping: no verdict about the store.
        return ReconcileResult{.next = ReconcileResult::Next::kRetry};
      }
      if (valid.ok() && context_.metrics != nullptr) {
        // Refreshed at each validation; renewals in between make the real TTL longer, never
        // shorter, so an alert on it errs on the early side.
        if (const auto ttl = resolved->client->credentialsTtl()) {
          context_.metrics->setTokenTtl(metrics::Metrics::storeLabel(metrics_kind, ns, name),
                                        resolved->client->identity(), *ttl);
        }
      }
      if (!valid.ok()) {
        ready = {.type = "Ready",
                 .status = "False",
                 .reason = "ValidationFailed",
                 .message = std::string(valid.message())};
        retry = true;
      }
    }
  }
  if (context_.metrics != nullptr) {
    context_.metrics->setStoreReady(metrics_kind, ns, name,
                                    ready.status == "True" ? metrics::ConditionStatus::kTrue
                                                           : metrics::ConditionStatus::kFalse);
    context_.metrics->recordStoreReconcile(metrics_kind, ns, name,
                                           deps_.clock->monotonicNow() - started);
  }

  std::vector<api::Condition> conditions = store.status_conditions;
  const bool changed = api::setCondition(conditions, ready, kube::formatTime(deps_.clock->now()));
  if (changed) {
    if (ready.status == "False" && context_.record_event) {
      context_.record_event(*object, "Warning", ready.reason, ready.message);
    }
    Json status_conditions = Json::array();
    for (const api::Condition& c : conditions) status_conditions.push_back(c.toJson());
    const std::string version = store.api_version == api::ApiVersion::kV1 ? "v1" : "v1beta1";
    absl::StatusOr<Json> patched = deps_.client->patch(
        cluster ? kube::resources::clusterSecretStores(version)
                : kube::resources::secretStores(version),
        ns, name, kube::PatchType::kMerge,
        Json{{"status", {{"conditions", status_conditions}, {"capabilities", "ReadOnly"}}}},
        kube::WriteOptions{.field_manager = context_.field_manager, .subresource = "status"});
    if (!patched.ok() && !kube::isNotFound(patched.status())) {
      return ReconcileResult{.next = ReconcileResult::Next::kRetry};
    }
  }
  if (retry) return ReconcileResult{.next = ReconcileResult::Next::kRetry};
  const std::chrono::nanoseconds every =
      store.spec.refresh_interval && *store.spec.refresh_interval > absl::ZeroDuration()
          ? absl::ToChronoNanoseconds(*store.spec.refresh_interval)
          : std::chrono::nanoseconds(options_.default_refresh);
  return ReconcileResult{.next = ReconcileResult::Next::kRequeueAfter,
                         .after = jitteredRefresh(every, key)};
}

}  // namespace secretsync::sync
