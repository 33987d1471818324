#include "pkg/sync/external_secret_reconciler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/digest.h"
#include "pkg/common/json_fields.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/api_time.h"
#include "pkg/store/store_client.h"
#include "pkg/sync/work_queue.h"

namespace secretsync::sync {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kReady = "Ready";
constexpr std::string_view kSynced = "SecretSynced";
constexpr std::string_view kSyncedError = "SecretSyncedError";

std::optional<common::SystemTime> parseTime(const std::string& text) {
  absl::Time t;
  std::string error;
  if (text.empty() || !absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return std::nullopt;
  return absl::ToChronoTime(t);
}

std::chrono::nanoseconds toChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

// Whether `object` has a controller ownerReference to the object with `uid`.
bool controlledBy(const Json& object, const std::string& uid) {
  const Json& refs = common::jsonMember(common::jsonMember(object, "metadata"), "ownerReferences");
  if (!refs.is_array()) return false;
  for (const Json& ref : refs) {
    if (common::jsonBool(ref, "controller") && common::jsonString(ref, "uid") == uid) {
      return true;
    }
  }
  return false;
}

}  // namespace

metrics::FailureReason failureReason(const absl::Status& status) {
  if (kube::apiErrorInfo(status).has_value()) {
    return kube::isConflict(status) ? metrics::FailureReason::kConflict
                                    : metrics::FailureReason::kKubeWrite;
  }
  if (store::notFoundReason(status).has_value()) return metrics::FailureReason::kSecretNotFound;
  // A Secret owned by someone else, or one the API forbids us to change.
  if (absl::IsFailedPrecondition(status)) return metrics::FailureReason::kConflict;
  if (absl::IsNotFound(status)) return metrics::FailureReason::kStoreNotFound;
  return metrics::reasonFromStatus(status);
}

std::string syncedResourceVersion(const api::ObjectMeta& meta) {
  std::string text;
  for (const auto& [key, value] : meta.labels) absl::StrAppend(&text, "l:", key, "=", value, "\n");
  for (const auto& [key, value] : meta.annotations) {
    absl::StrAppend(&text, "a:", key, "=", value, "\n");
  }
  return absl::StrCat(meta.generation, "-",
                      common::hexDigest(common::DigestAlgorithm::kSha224, text).substr(0, 32));
}

ExternalSecretReconciler::ExternalSecretReconciler(Deps deps, ReconcileContext context,
                                                   ExternalSecretReconcilerOptions options)
    : deps_(deps), context_(std::move(context)), options_(std::move(options)) {}

absl::StatusOr<Json> ExternalSecretReconciler::targetSecret(const std::string& namespace_name,
                                                            const std::string& name, bool* found) {
  *found = false;
  if (deps_.managed_secrets != nullptr) {
    if (kube::ObjectPtr cached = deps_.managed_secrets->get(namespace_name, name)) {
      *found = true;
      return *cached;
    }
  }
  // Not labelled as ours (yet): a Secret to take over or merge into, or none.
  absl::StatusOr<Json> secret = deps_.client->get(kube::resources::secrets(), namespace_name, name);
  if (!secret.ok()) {
    if (kube::isNotFound(secret.status())) return Json();
    return secret.status();
  }
  *found = true;
  return secret;
}

absl::Status ExternalSecretReconciler::writeStatus(const Json& object,
                                                   const api::ExternalSecret& es,
                                                   api::ExternalSecretStatus status) {
  const Json wanted = status.toJson();
  const auto current = object.find("status");
  if (current != object.end() && *current == wanted) return absl::OkStatus();
  absl::StatusOr<Json> patched = deps_.client->patch(
      kube::resources::externalSecrets(es.api_version == api::ApiVersion::kV1 ? "v1" : "v1beta1"),
      es.metadata.namespace_name, es.metadata.name, kube::PatchType::kMerge,
      Json{{"status", wanted}},
      kube::WriteOptions{.field_manager = context_.field_manager, .subresource = "status"});
  return patched.status();
}

ReconcileResult ExternalSecretReconciler::fail(const Json& object, const api::ExternalSecret& es,
                                               const absl::Status& status, bool retry,
                                               const std::string& store) {
  if (status.code() == absl::StatusCode::kCancelled) {
    // The controller is stopping (its Vault calls were cut short): not the object's fault, so
    // nothing is recorded; whoever leads next reconciles it again.
    return ReconcileResult{.next = ReconcileResult::Next::kRetry};
  }
  const std::string& ns = es.metadata.namespace_name;
  const std::string& name = es.metadata.name;
  const std::string message(status.message());
  if (context_.metrics != nullptr) {
    context_.metrics->recordFailure(metrics::ObjectKind::kExternalSecret, store,
                                    failureReason(status));
    context_.metrics->setCondition(ns, name, metrics::Condition::kReady,
                                   metrics::ConditionStatus::kFalse);
  }
  api::ExternalSecretStatus next = es.status;
  const std::string now = kube::formatTime(deps_.clock->now());
  const bool changed = api::setCondition(next.conditions,
                                         api::Condition{.type = std::string(kReady),
                                                        .status = "False",
                                                        .reason = std::string(kSyncedError),
                                                        .message = message},
                                         now);
  if (changed) {
    // Record the event only when the condition changes: a failure repeating every backoff step
    // is already aggregated by the recorder, but need not even reach it.
    if (context_.record_event) context_.record_event(object, "Warning", "UpdateFailed", message);
    const absl::Status written = writeStatus(object, es, next);
    if (!written.ok() && !kube::isNotFound(written)) {
      return ReconcileResult{.next = ReconcileResult::Next::kRetry};
    }
  }
  return ReconcileResult{.next = retry ? ReconcileResult::Next::kRetry
                                       : ReconcileResult::Next::kForget};
}

ReconcileResult ExternalSecretReconciler::reconcile(const std::string& key) {
  const size_t slash = key.find('/');
  const std::string ns = slash == std::string::npos ? "" : key.substr(0, slash);
  const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  if (deps_.external_secrets->get(ns, name) == nullptr) {
    if (context_.metrics != nullptr) {
      context_.metrics->removeObject(metrics::ObjectKind::kExternalSecret, ns, name);
    }
    std::lock_guard<std::mutex> lock(mu_);
    last_check_.erase(key);
    return {};
  }
  const auto started = deps_.clock->monotonicNow();
  bool ok = true;
  const ReconcileResult result = run(ns, name, &ok);
  if (context_.metrics != nullptr) {
    context_.metrics->recordSync(ns, name, ok, deps_.clock->monotonicNow() - started);
  }
  return result;
}

ReconcileResult ExternalSecretReconciler::run(const std::string& ns, const std::string& name,
                                              bool* ok) {
  const std::string key = absl::StrCat(ns, "/", name);
  const kube::ObjectPtr object = deps_.external_secrets->get(ns, name);
  if (object == nullptr) return {};

  absl::StatusOr<api::Parsed<api::ExternalSecret>> parsed = api::parseExternalSecret(*object);
  if (!parsed.ok()) return {};  // the informer serves only ExternalSecrets
  const api::ExternalSecret& es = parsed->object;
  if (!es.metadata.deletion_timestamp.empty()) return {};
  // From here every return through fail() is an error; the others set *ok back.
  *ok = false;
  const std::string store_name =
      !es.spec.secret_store_ref.has_value()
          ? ""
          : metrics::Metrics::storeLabel(
                es.spec.secret_store_ref->kind == api::StoreKind::kClusterSecretStore
                    ? metrics::StoreKind::kClusterSecretStore
                    : metrics::StoreKind::kSecretStore,
                es.spec.secret_store_ref->kind == api::StoreKind::kClusterSecretStore ? "" : ns,
                es.spec.secret_store_ref->name);
  if (context_.metrics != nullptr) {
    context_.metrics->setRefreshInterval(
        metrics::ObjectKind::kExternalSecret, ns, name,
        es.spec.refresh_policy == api::RefreshPolicy::kPeriodic
            ? std::chrono::seconds(absl::ToInt64Seconds(es.spec.refresh_interval))
            : std::chrono::seconds(0));
  }
  if (!parsed->diagnostics.ok()) {
    return fail(*object, es,
                absl::InvalidArgumentError(absl::StrCat(parsed->diagnostics.reason(), ": ",
                                                        parsed->diagnostics.message())),
                /*retry=*/false, store_name);
  }

  // Every store it reads from must be ours (controller class) and present.
  std::vector<api::StoreRef> refs;
  if (es.spec.secret_store_ref) refs.push_back(*es.spec.secret_store_ref);
  for (const auto& d : es.spec.data) {
    if (d.store_ref) refs.push_back(*d.store_ref);
  }
  for (const auto& d : es.spec.data_from) {
    if (d.store_ref) refs.push_back(*d.store_ref);
  }
  for (const api::StoreRef& ref : refs) {
    absl::StatusOr<std::shared_ptr<const api::SecretStore>> store = deps_.stores->store(ref, ns);
    if (store.ok() && (*store)->spec.controller != context_.controller_class) {
      *ok = true;
      return {};
    }
    if (!store.ok()) return fail(*object, es, store.status(), /*retry=*/true, store_name);
  }

  // Is a store read due?
  const common::SystemTime now = deps_.clock->now();
  const std::string synced_rv = syncedResourceVersion(es.metadata);
  const bool spec_changed = es.status.synced_resource_version != synced_rv;
  const std::string target_name =
      es.spec.target.name.empty() ? es.metadata.name : es.spec.target.name;
  bool secret_found = false;
  absl::StatusOr<Json> existing = targetSecret(ns, target_name, &secret_found);
  if (!existing.ok()) return fail(*object, es, existing.status(), /*retry=*/true, store_name);
  const bool writes = es.spec.target.creation_policy != api::CreationPolicy::kNone;
  const bool intact = !writes || (secret_found && secretIntact(*existing));
  std::optional<common::SystemTime> last_check = parseTime(es.status.refresh_time);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = last_check_.find(key);
    if (it != last_check_.end() && (!last_check || it->second > *last_check)) {
      last_check = it->second;
    }
  }
  const bool synced_before = !es.status.synced_resource_version.empty() && last_check.has_value();
  const absl::Duration interval = es.spec.refresh_interval;
  if (synced_before && intact && !spec_changed) {
    *ok = true;
    if (es.spec.refresh_policy != api::RefreshPolicy::kPeriodic ||
        interval <= absl::ZeroDuration()) {
      return {};  // CreatedOnce, OnChange and interval 0: nothing until the object changes
    }
    const auto next =
        *last_check + jitteredRefresh(toChrono(interval), key, options_.refresh_spread);
    if (next > now) {
      return ReconcileResult{.next = ReconcileResult::Next::kRequeueAfter, .after = next - now};
    }
  }
  if (synced_before && es.spec.refresh_policy == api::RefreshPolicy::kCreatedOnce && secret_found) {
    *ok = true;
    return {};  // created once; later spec edits do not refresh it (ESO)
  }

  // Read and write: a due refresh, which may fail again.
  *ok = false;
  const auto started = deps_.clock->monotonicNow();
  absl::StatusOr<DesiredSecret> desired = deps_.builder->build(es);
  if (context_.metrics != nullptr) {
    context_.metrics->recordRefresh(metrics::ObjectKind::kExternalSecret, store_name,
                                    deps_.clock->monotonicNow() - started);
  }
  if (!desired.ok()) {
    return fail(*object, es, desired.status(), sync::isRetryable(desired.status()), store_name);
  }
  if (desired->data.empty() && writes) {
    // The store has no data for it (e.g. a find that matches nothing): deletionPolicy decides.
    switch (es.spec.target.deletion_policy) {
      case api::DeletionPolicy::kRetain:
        return fail(*object, es,
                    absl::NotFoundError("the store returned no data; the Secret is kept "
                                        "(deletionPolicy Retain)"),
                    /*retry=*/true, store_name);
      case api::DeletionPolicy::kDelete:
        if (secret_found && !controlledBy(*existing, es.metadata.uid)) {
          // Deleting a Secret this ExternalSecret does not own would let anyone who may create
          // an ExternalSecret delete any Secret of the namespace.
          return fail(*object, es,
                      absl::FailedPreconditionError(
                          "the store returned no data; deletionPolicy Delete removes only a "
                          "Secret this ExternalSecret owns (creationPolicy Owner), so it is kept"),
                      /*retry=*/false, store_name);
        }
        if (secret_found) {
          const absl::Status removed = deps_.client->remove(
              kube::resources::secrets(), ns, target_name,
              kube::DeleteOptions{.uid = common::metadataString(*existing, "uid")});
          if (!removed.ok() && !kube::isNotFound(removed)) {
            return fail(*object, es, removed, /*retry=*/true, store_name);
          }
          if (context_.record_event) {
            context_.record_event(*object, "Normal", "Deleted",
                                  "Deleted Secret: the store returned no data");
          }
        }
        break;
      case api::DeletionPolicy::kMerge:
        break;  // written below with no keys of ours
    }
  }
  const bool deleted = desired->data.empty() && writes &&
                       es.spec.target.deletion_policy == api::DeletionPolicy::kDelete;
  const SecretTarget target{.namespace_name = ns,
                            .name = target_name,
                            .creation_policy = es.spec.target.creation_policy,
                            .immutable = es.spec.target.immutable,
                            .owner_api_version = common::jsonString(*object, "apiVersion"),
                            .owner_name = es.metadata.name,
                            .owner_uid = es.metadata.uid};
  absl::StatusOr<SecretWriteOutcome> written =
      deleted ? SecretWriteOutcome::kNotWritten
              : writeSecret(*deps_.client, *desired, target, secret_found ? &*existing : nullptr,
                            kube::WriteOptions{.field_manager = context_.field_manager});
  if (!written.ok()) {
    // Conflicts and AlreadyExists mean our cache was behind: retry soon, quietly.
    const bool race = kube::isConflict(written.status()) || kube::isAlreadyExists(written.status());
    if (race) {
      *ok = true;  // not a failure of the object: our cache was a step behind
      return ReconcileResult{.next = ReconcileResult::Next::kRetry};
    }
    const bool retry =
        !absl::IsFailedPrecondition(written.status()) || absl::IsNotFound(written.status());
    return fail(*object, es, written.status(), retry, store_name);
  }
  const bool data_written =
      *written == SecretWriteOutcome::kCreated || *written == SecretWriteOutcome::kUpdated;
  *ok = true;
  if (context_.metrics != nullptr) {
    context_.metrics->setCondition(
        ns, name, metrics::Condition::kReady,
        deleted ? metrics::ConditionStatus::kFalse : metrics::ConditionStatus::kTrue);
    context_.metrics->setLastSuccess(metrics::ObjectKind::kExternalSecret, ns, name, now);
  }
  if (data_written && context_.record_event) {
    context_.record_event(*object, "Normal", "Updated", "Updated Secret");
  }

  // Status, only when it changes.
  api::ExternalSecretStatus next_status = es.status;
  const std::string now_text = kube::formatTime(now);
  const bool condition_changed = api::setCondition(
      next_status.conditions,
      deleted ? api::Condition{.type = std::string(kReady),
                               .status = "False",
                               .reason = "SecretDeleted",
                               .message = "the store returned no data; Secret deleted"}
              : api::Condition{.type = std::string(kReady),
                               .status = "True",
                               .reason = std::string(kSynced),
                               .message = "secret synced"},
      now_text);
  if (data_written || condition_changed || spec_changed || next_status.refresh_time.empty()) {
    next_status.refresh_time = now_text;
  }
  next_status.synced_resource_version = synced_rv;
  next_status.binding_name = writes && !deleted ? target_name : "";
  const absl::Status status_written = writeStatus(*object, es, next_status);
  if (!status_written.ok()) {
    if (kube::isNotFound(status_written)) return {};  // deleted meanwhile
    return ReconcileResult{.next = ReconcileResult::Next::kRetry};
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_check_[key] = now;
  }
  if (es.spec.refresh_policy != api::RefreshPolicy::kPeriodic || interval <= absl::ZeroDuration()) {
    return {};
  }
  return ReconcileResult{
      .next = ReconcileResult::Next::kRequeueAfter,
      .after = jitteredRefresh(toChrono(interval), key, options_.refresh_spread)};
}

}  // namespace secretsync::sync
