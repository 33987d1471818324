#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "pkg/metrics/metrics.h"

namespace secretsync::sync {

// Records an Event about `object` (type "Normal"/"Warning"). Messages hold no value.
using RecordEvent = std::function<void(const nlohmann::json& object, std::string_view type,
                                       std::string_view reason, std::string_view message)>;

// What the ExternalSecret and store reconcilers of one controller share: which objects are
// theirs, how they write, where they report. The controller builds it once for both.
struct ReconcileContext {
  // ESO's --controller-class: stores whose spec.controller differs are not ours ("" matches "").
  std::string controller_class;
  // fieldManager of our writes.
  std::string field_manager = "secretsync";
  // Optional.
  RecordEvent record_event;
  // ESO's externalsecret_*, secretstore_* and clustersecretstore_* series, controller-runtime's,
  // and ours; optional, must outlive the reconcilers.
  metrics::Metrics* metrics = nullptr;
};

}  // namespace secretsync::sync
