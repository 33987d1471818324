#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/api/external_secret.h"
#include "pkg/kube/kube_client.h"
#include "pkg/sync/secret_data_builder.h"

namespace secretsync::sync {

// ESO's markers on the Secrets it writes (kept so a switch from ESO finds its Secrets ours).
inline constexpr std::string_view kManagedLabel = "reconcile.external-secrets.io/managed";
inline constexpr std::string_view kCreatedByLabel = "reconcile.external-secrets.io/created-by";

// Where and how an ExternalSecret's data lands.
struct SecretTarget {
  std::string namespace_name;
  std::string name;  // spec.target.name, defaulted to the ExternalSecret's name
  api::CreationPolicy creation_policy = api::CreationPolicy::kOwner;
  bool immutable = false;
  // The ExternalSecret, for the ownerReference (Owner) and the created-by label.
  std::string owner_api_version;
  std::string owner_name;
  std::string owner_uid;
};

// What a write did.
enum class SecretWriteOutcome { kUnchanged, kCreated, kUpdated, kNotWritten };

// The Secret object to send so that the cluster holds `desired` at `target`, given the Secret that
// exists now (null when none); nullopt when the existing Secret already says exactly that (data,
// type, our labels and annotations, ownerReference), so nothing is written (design invariant 2).
//  - Owner: creates or takes over the Secret, with a controller ownerReference to the
//    ExternalSecret (garbage-collected with it) and ESO's managed and created-by labels. A Secret
//    controlled by another owner is refused (kFailedPrecondition), as ESO does.
//  - Orphan: the same without ownerReference and created-by.
//  - Merge: the Secret must exist (kNotFound otherwise, retried: it may be created later); our
//    keys are written over its data, other keys stay; the data hash covers the union.
//  - None: nothing is ever written (nullopt).
// Labels and annotations other writers put on the Secret (Argo CD's tracking, kubectl's) are kept;
// ours are set. Data and type are replaced (Merge: data merged). An immutable Secret whose data
// would change, or a type change (the API forbids both), is kFailedPrecondition naming the Secret.
// Errors never contain a value.
absl::StatusOr<std::optional<nlohmann::json>> planSecretWrite(const DesiredSecret& desired,
                                                              const SecretTarget& target,
                                                              const nlohmann::json* existing);

// Plans and writes: create when `existing` is null, else a PUT conditional on its
// resourceVersion (a 409 comes back as the API's conflict error: re-read and retry).
absl::StatusOr<SecretWriteOutcome> writeSecret(kube::KubeClient& client,
                                               const DesiredSecret& desired,
                                               const SecretTarget& target,
                                               const nlohmann::json* existing,
                                               const kube::WriteOptions& options = {});

// Whether `existing` still holds what we last wrote: ESO's managed label and a data-hash
// annotation equal to the hash of its data. Used to skip a store read when no refresh is due.
bool secretIntact(const nlohmann::json& existing);

}  // namespace secretsync::sync
