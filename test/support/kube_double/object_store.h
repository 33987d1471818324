#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "test/support/kube_double/managed_fields.h"

namespace secretsync::test::kube {

// One stored object in its storage form (apiVersion of the first served version) with the
// field ownership server-side apply needs.
struct StoredObject {
  nlohmann::json object;
  ManagedFields managed;
};

// One change, as watchers see it.
struct ChangeEvent {
  uint64_t resource_version = 0;
  std::string type;  // ADDED, MODIFIED, DELETED
  std::string storage_key;
  std::string namespace_name;
  nlohmann::json object;
  nlohmann::json previous;  // null for ADDED; lets watches with selectors send enter/leave
};

// The etcd of the double: objects by (resource, namespace, name), one global resourceVersion
// counter, and a bounded history of changes for watches. Once a change falls out of the
// history, watches from before it get 410 Expired.
//
// Thread-safety: not thread-safe; KubeDouble guards it with its mutex.
class ObjectStore {
 public:
  using Key = std::pair<std::string, std::string>;  // (namespace, name); namespace "" if cluster

  uint64_t currentRv() const { return rv_; }
  // Advances and returns the global counter.
  uint64_t nextRv() { return ++rv_; }

  StoredObject* find(const std::string& storage_key, const std::string& ns,
                     const std::string& name);
  // Every object of a resource in (namespace, name) order; `ns` empty means all namespaces.
  std::vector<std::pair<Key, const StoredObject*>> list(const std::string& storage_key,
                                                        const std::string& ns) const;
  // All resources' objects, for garbage collection and namespace deletion.
  std::vector<std::pair<std::string, Key>> allKeys() const;

  // Stores the object (its metadata.resourceVersion must already be set) and records the change.
  void put(const std::string& storage_key, const std::string& ns, const std::string& name,
           StoredObject stored, const std::string& type, nlohmann::json previous);
  // Removes the object; `last` is its final state with the deletion's resourceVersion.
  void erase(const std::string& storage_key, const std::string& ns, const std::string& name,
             nlohmann::json last);

  // History: at most `limit` changes are kept.
  void setHistoryLimit(size_t limit);
  // Forgets the whole history: every watch from an older resourceVersion gets 410.
  void compactAll();
  // The newest resourceVersion no longer in the history (0 when nothing was dropped).
  uint64_t compactedRv() const { return compacted_rv_; }
  // Changes of one resource after `rv`, oldest first.
  std::vector<ChangeEvent> changesAfter(uint64_t rv, const std::string& storage_key) const;

 private:
  void record(ChangeEvent event);

  uint64_t rv_ = 0;
  std::map<std::string, std::map<Key, StoredObject>> objects_;
  std::deque<ChangeEvent> history_;
  size_t history_limit_ = 10000;
  uint64_t compacted_rv_ = 0;
};

}  // namespace secretsync::test::kube
