#include "test/support/kube_double/managed_fields.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace secretsync::test::kube {

namespace {

using Pointer = nlohmann::json::json_pointer;

std::string escapeToken(const std::string& token) {
  return absl::StrReplaceAll(token, {{"~", "~0"}, {"/", "~1"}});
}

void collectLeaves(const nlohmann::json& node, const std::string& prefix,
                   std::set<std::string>* out) {
  if (node.is_object() && !node.empty()) {
    for (const auto& [k, v] : node.items()) {
      collectLeaves(v, absl::StrCat(prefix, "/", escapeToken(k)), out);
    }
    return;
  }
  out->insert(prefix);
}

bool valueAt(const nlohmann::json& object, const std::string& pointer, nlohmann::json* out) {
  try {
    Pointer ptr(pointer);
    if (!object.contains(ptr)) {
      return false;
    }
    *out = object.at(ptr);
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void removeAt(nlohmann::json& object, const std::string& pointer) {
  try {
    Pointer ptr(pointer);
    if (!object.contains(ptr)) {
      return;
    }
    std::string last = ptr.back();
    Pointer parent = ptr.parent_pointer();
    nlohmann::json& container = object.at(parent);
    if (container.is_object()) {
      container.erase(last);
    }
  } catch (const nlohmann::json::exception&) {
    // A path that no longer fits the object's shape has nothing to remove.
  }
}

void setAt(nlohmann::json& object, const std::string& pointer, const nlohmann::json& value) {
  try {
    object[Pointer(pointer)] = value;
  } catch (const nlohmann::json::exception&) {
    // A scalar in the way of a deeper path: the applied shape wins, as replace semantics.
  }
}

}  // namespace

std::set<std::string> ownableFields(const nlohmann::json& object) {
  std::set<std::string> out;
  if (!object.is_object()) {
    return out;
  }
  for (const auto& [k, v] : object.items()) {
    if (k == "apiVersion" || k == "kind") {
      continue;
    }
    if (k == "metadata") {
      if (!v.is_object()) {
        continue;
      }
      for (const char* owned : {"labels", "annotations", "ownerReferences", "finalizers"}) {
        if (v.contains(owned) && !v[owned].is_null()) {
          collectLeaves(v[owned], absl::StrCat("/metadata/", owned), &out);
        }
      }
      continue;
    }
    collectLeaves(v, absl::StrCat("/", escapeToken(k)), &out);
  }
  return out;
}

std::string pointerToFieldPath(const std::string& pointer) {
  std::string out;
  Pointer ptr;
  try {
    ptr = Pointer(pointer);
  } catch (const nlohmann::json::exception&) {
    return pointer;
  }
  std::vector<std::string> tokens;
  while (!ptr.empty()) {
    tokens.insert(tokens.begin(), ptr.back());
    ptr.pop_back();
  }
  for (const auto& t : tokens) {
    absl::StrAppend(&out, ".", t);
  }
  return out;
}

ManagerEntry& ManagedFields::entry(const std::string& manager, const std::string& operation,
                                   const std::string& subresource) {
  for (auto& e : entries_) {
    if (e.manager == manager && e.operation == operation && e.subresource == subresource) {
      return e;
    }
  }
  entries_.push_back(ManagerEntry{manager, operation, "", "", subresource, {}});
  return entries_.back();
}

void ManagedFields::prune() {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [](const ManagerEntry& e) { return e.fields.empty(); }),
                 entries_.end());
}

void ManagedFields::recordUpdate(const std::string& manager, const std::string& api_version,
                                 const std::string& time, const std::string& subresource,
                                 const nlohmann::json& before, const nlohmann::json& after) {
  std::set<std::string> old_fields = ownableFields(before);
  std::set<std::string> new_fields = ownableFields(after);
  std::set<std::string> changed;
  for (const auto& f : new_fields) {
    nlohmann::json a;
    nlohmann::json b;
    valueAt(after, f, &a);
    if (!valueAt(before, f, &b) || a != b) {
      changed.insert(f);
    }
  }
  std::set<std::string> removed;
  for (const auto& f : old_fields) {
    if (new_fields.count(f) == 0) {
      removed.insert(f);
    }
  }
  if (changed.empty() && removed.empty()) {
    return;
  }
  for (auto& e : entries_) {
    for (const auto& f : removed) {
      e.fields.erase(f);
    }
    if (e.manager != manager || e.operation != "Update") {
      for (const auto& f : changed) {
        e.fields.erase(f);
      }
    }
  }
  if (!changed.empty()) {
    ManagerEntry& mine = entry(manager, "Update", subresource);
    mine.api_version = api_version;
    mine.time = time;
    mine.fields.insert(changed.begin(), changed.end());
  }
  prune();
}

ManagedFields::ApplyOutcome ManagedFields::apply(const std::string& manager,
                                                 const std::string& api_version,
                                                 const std::string& time,
                                                 const std::string& subresource,
                                                 const nlohmann::json& current,
                                                 const nlohmann::json& applied, bool force) {
  ApplyOutcome out;
  std::set<std::string> fields = ownableFields(applied);
  // Conflicts: another manager owns the field and the applied value differs.
  std::vector<std::pair<ManagerEntry*, std::string>> taken;
  for (auto& e : entries_) {
    if (e.manager == manager) {
      continue;
    }
    for (const auto& f : fields) {
      if (e.fields.count(f) == 0) {
        continue;
      }
      nlohmann::json have;
      nlohmann::json want;
      valueAt(applied, f, &want);
      if (valueAt(current, f, &have) && have == want) {
        continue;  // agreeing on a value is shared ownership, not a conflict
      }
      taken.emplace_back(&e, f);
    }
  }
  if (!taken.empty() && !force) {
    for (const auto& [e, f] : taken) {
      std::string who = e->operation == "Apply" ? absl::StrCat("conflict with \"", e->manager, "\"")
                                                : absl::StrCat("conflict with \"", e->manager,
                                                               "\" using ", e->api_version);
      out.conflicts.push_back(StatusCause{"FieldManagerConflict", who, pointerToFieldPath(f)});
    }
    return out;
  }
  for (const auto& [e, f] : taken) {
    e->fields.erase(f);
  }
  nlohmann::json result = current.is_null() ? nlohmann::json::object() : current;
  ManagerEntry& mine = entry(manager, "Apply", subresource);
  for (const auto& f : mine.fields) {
    if (fields.count(f) != 0) {
      continue;
    }
    bool shared = std::any_of(entries_.begin(), entries_.end(), [&](const ManagerEntry& e) {
      return &e != &mine && e.fields.count(f) != 0;
    });
    if (!shared) {
      removeAt(result, f);
    }
  }
  for (const auto& f : fields) {
    nlohmann::json value;
    if (valueAt(applied, f, &value)) {
      setAt(result, f, value);
    }
  }
  // Shared fields: the applier now co-owns them too.
  mine.fields = fields;
  mine.api_version = api_version;
  mine.time = time;
  prune();
  out.object = std::move(result);
  return out;
}

nlohmann::json ManagedFields::render() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries_) {
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& f : e.fields) {
      nlohmann::json* node = &fields;
      Pointer ptr;
      try {
        ptr = Pointer(f);
      } catch (const nlohmann::json::exception&) {
        continue;
      }
      std::vector<std::string> tokens;
      while (!ptr.empty()) {
        tokens.insert(tokens.begin(), ptr.back());
        ptr.pop_back();
      }
      for (const auto& t : tokens) {
        nlohmann::json& next = (*node)[absl::StrCat("f:", t)];
        if (next.is_null()) {
          next = nlohmann::json::object();
        }
        node = &next;
      }
    }
    nlohmann::json item = {{"manager", e.manager},        {"operation", e.operation},
                           {"apiVersion", e.api_version}, {"time", e.time},
                           {"fieldsType", "FieldsV1"},    {"fieldsV1", fields}};
    if (!e.subresource.empty()) {
      item["subresource"] = e.subresource;
    }
    out.push_back(item);
  }
  return out;
}

}  // namespace secretsync::test::kube
