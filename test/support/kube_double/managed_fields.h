#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test/support/kube_double/api_status.h"

namespace secretsync::test::kube {

// Which manager owns which fields of one object: a simple, honest model of server-side apply
// (reference §1.5). Fields are leaves named by JSON pointer ("/data/k", "/spec/provider"): maps
// are granular, lists are atomic (as a CRD without x-kubernetes-list-type). Of metadata only
// labels, annotations, ownerReferences and finalizers can be owned.
struct ManagerEntry {
  std::string manager;
  std::string operation;  // "Apply" or "Update"
  std::string api_version;
  std::string time;         // RFC 3339
  std::string subresource;  // "" or "status"
  std::set<std::string> fields;
};

// Thread-safety: a plain value; KubeDouble guards it with its mutex.
class ManagedFields {
 public:
  // Records an Update-operation write by `manager` that turned `before` (null on create) into
  // `after`: fields it set or changed become its own and leave other managers.
  void recordUpdate(const std::string& manager, const std::string& api_version,
                    const std::string& time, const std::string& subresource,
                    const nlohmann::json& before, const nlohmann::json& after);

  struct ApplyOutcome {
    nlohmann::json object;  // the merged object (valid only without conflicts)
    std::vector<StatusCause> conflicts;
  };
  // Applies `applied` (a partial object) as `manager` to `current` (null when it does not exist).
  // A field another manager owns with a different value is a conflict unless `force` moves it.
  // Fields `manager` applied before and leaves out now are removed unless someone else owns
  // them. On conflicts nothing changes.
  ApplyOutcome apply(const std::string& manager, const std::string& api_version,
                     const std::string& time, const std::string& subresource,
                     const nlohmann::json& current, const nlohmann::json& applied, bool force);

  // metadata.managedFields as the API server shows it (fieldsType FieldsV1).
  nlohmann::json render() const;
  bool empty() const { return entries_.empty(); }

 private:
  ManagerEntry& entry(const std::string& manager, const std::string& operation,
                      const std::string& subresource);
  void prune();

  std::vector<ManagerEntry> entries_;
};

// The ownable leaves of `object` as JSON pointers.
std::set<std::string> ownableFields(const nlohmann::json& object);

// "/data/k" → ".data.k" (the form in FieldManagerConflict causes).
std::string pointerToFieldPath(const std::string& pointer);

}  // namespace secretsync::test::kube
