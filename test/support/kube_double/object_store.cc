#include "test/support/kube_double/object_store.h"

#include <algorithm>

namespace secretsync::test::kube {

StoredObject* ObjectStore::find(const std::string& storage_key, const std::string& ns,
                                const std::string& name) {
  auto it = objects_.find(storage_key);
  if (it == objects_.end()) {
    return nullptr;
  }
  auto obj = it->second.find(Key(ns, name));
  return obj == it->second.end() ? nullptr : &obj->second;
}

std::vector<std::pair<ObjectStore::Key, const StoredObject*>> ObjectStore::list(
    const std::string& storage_key, const std::string& ns) const {
  std::vector<std::pair<Key, const StoredObject*>> out;
  auto it = objects_.find(storage_key);
  if (it == objects_.end()) {
    return out;
  }
  for (const auto& [key, stored] : it->second) {
    if (ns.empty() || key.first == ns) {
      out.emplace_back(key, &stored);
    }
  }
  return out;
}

std::vector<std::pair<std::string, ObjectStore::Key>> ObjectStore::allKeys() const {
  std::vector<std::pair<std::string, Key>> out;
  for (const auto& [storage_key, objects] : objects_) {
    for (const auto& [key, stored] : objects) {
      out.emplace_back(storage_key, key);
    }
  }
  return out;
}

void ObjectStore::put(const std::string& storage_key, const std::string& ns,
                      const std::string& name, StoredObject stored, const std::string& type,
                      nlohmann::json previous) {
  ChangeEvent event;
  event.resource_version = rv_;
  event.type = type;
  event.storage_key = storage_key;
  event.namespace_name = ns;
  event.object = stored.object;
  event.previous = std::move(previous);
  objects_[storage_key][Key(ns, name)] = std::move(stored);
  record(std::move(event));
}

void ObjectStore::erase(const std::string& storage_key, const std::string& ns,
                        const std::string& name, nlohmann::json last) {
  auto it = objects_.find(storage_key);
  if (it != objects_.end()) {
    it->second.erase(Key(ns, name));
  }
  ChangeEvent event;
  event.resource_version = rv_;
  event.type = "DELETED";
  event.storage_key = storage_key;
  event.namespace_name = ns;
  event.previous = last;
  event.object = std::move(last);
  record(std::move(event));
}

void ObjectStore::record(ChangeEvent event) {
  history_.push_back(std::move(event));
  while (history_.size() > history_limit_) {
    compacted_rv_ = history_.front().resource_version;
    history_.pop_front();
  }
}

void ObjectStore::setHistoryLimit(size_t limit) {
  history_limit_ = limit;
  while (history_.size() > history_limit_) {
    compacted_rv_ = history_.front().resource_version;
    history_.pop_front();
  }
}

void ObjectStore::compactAll() {
  history_.clear();
  compacted_rv_ = rv_;
}

std::vector<ChangeEvent> ObjectStore::changesAfter(uint64_t rv,
                                                   const std::string& storage_key) const {
  std::vector<ChangeEvent> out;
  for (auto it = history_.rbegin(); it != history_.rend() && it->resource_version > rv; ++it) {
    if (it->storage_key == storage_key) {
      out.push_back(*it);
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace secretsync::test::kube
