#include "test/soak/invariants.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace secretsync::soak {

std::string vaultValue(const std::string& path, uint64_t generation, const std::string& key) {
  return absl::StrCat(path, "#", generation, "/", key);
}

void InvariantChecker::recordVaultWrite(const std::string& path, uint64_t generation) {
  vault_history_[path].insert(generation);
  vault_current_[path] = generation;
}

void InvariantChecker::externalSecretCreated(const std::string& es, const std::string& secret,
                                             const std::string& path) {
  EsState& state = es_[es];
  state.secret = secret;
  state.path = path;
}

void InvariantChecker::externalSecretRetargeted(const std::string& es, const std::string& path) {
  auto it = es_.find(es);
  if (it == es_.end()) return;
  it->second.past_paths.insert(it->second.path);
  it->second.path = path;
}

void InvariantChecker::externalSecretDeleted(const std::string& es) {
  auto it = es_.find(es);
  if (it != es_.end()) it->second.deleted = true;
}

void InvariantChecker::recordFault(Clock::time_point start, Clock::time_point end) {
  faults_[start] = end;
}

bool InvariantChecker::faultNear(Clock::time_point at) const {
  for (const auto& [start, end] : faults_) {
    if (start > at) break;
    if (at <= end + fault_grace_) return true;
  }
  return false;
}

std::optional<uint64_t> InvariantChecker::heldValue(const std::string& path, const std::string& key,
                                                    const std::string& value) const {
  const std::string prefix = absl::StrCat(path, "#");
  const std::string suffix = absl::StrCat("/", key);
  if (value.size() <= prefix.size() + suffix.size() ||
      value.compare(0, prefix.size(), prefix) != 0 ||
      value.compare(value.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  uint64_t generation = 0;
  if (!absl::SimpleAtoi(value.substr(prefix.size(), value.size() - prefix.size() - suffix.size()),
                        &generation)) {
    return std::nullopt;
  }
  auto history = vault_history_.find(path);
  if (history == vault_history_.end() || history->second.count(generation) == 0) {
    return std::nullopt;
  }
  return generation;
}

void InvariantChecker::observeSecret(
    Clock::time_point /*at*/, const std::string& es,
    const std::optional<std::map<std::string, std::string>>& data) {
  auto it = es_.find(es);
  if (it == es_.end() || it->second.deleted) return;
  EsState& state = it->second;
  ++secret_observations_;
  if (!data.has_value()) {
    if (state.last_exists) {
      addViolation(absl::StrCat("Secret ", state.secret, " was deleted while ExternalSecret ", es,
                                " still exists"));
    }
    state.last_exists = false;
    return;
  }
  std::set<std::pair<std::string, uint64_t>> sources;
  for (const std::string& key : secretKeys()) {
    auto value = data->find(key);
    if (value == data->end() || value->second.empty()) {
      addViolation(absl::StrCat("Secret ", state.secret, " of ExternalSecret ", es,
                                " has no (or an empty) key \"", key, "\"",
                                state.secret_seen ? " after it had one (emptied)" : ""));
      continue;
    }
    std::optional<uint64_t> generation;
    std::string from;
    for (const std::string& path : state.past_paths) {
      if (!generation) {
        generation = heldValue(path, key, value->second);
        from = path;
      }
    }
    if (auto current = heldValue(state.path, key, value->second)) {
      generation = current;
      from = state.path;
    }
    if (!generation) {
      addViolation(absl::StrCat("Secret ", state.secret, " key \"", key,
                                "\" holds a value Vault never held at the paths of ExternalSecret ",
                                es));
      continue;
    }
    sources.insert({from, *generation});
  }
  if (sources.size() > 1) {
    ++mixed_observations_;
    std::vector<std::string> from;
    for (const auto& [path, generation] : sources) {
      from.push_back(absl::StrCat(path, "#", generation));
    }
    addViolation(absl::StrCat("Secret ", state.secret, " mixes keys of different Vault writes (",
                              absl::StrJoin(from, ", "), ")"));
  }
  state.secret_seen = true;
  state.last_exists = true;
  state.last_data = *data;
}

void InvariantChecker::observeReady(Clock::time_point at, const std::string& es,
                                    const std::string& status) {
  auto it = es_.find(es);
  if (it == es_.end() || it->second.deleted) return;
  EsState& state = it->second;
  if (state.last_ready == "True" && status == "False") {
    if (faultNear(at)) {
      ++ready_false_caused_;
    } else {
      ++ready_false_uncaused_;
      addViolation(
          absl::StrCat("ExternalSecret ", es, " went Ready=False with no fault active or recent"));
    }
  }
  state.last_ready = status;
}

void InvariantChecker::observeValue(const std::string& what, const std::string& path,
                                    const std::string& key, const std::string& value) {
  if (!heldValue(path, key, value)) {
    addViolation(absl::StrCat(what, ": not a value Vault held for ", path, " key \"", key, "\""));
  }
}

void InvariantChecker::addViolation(std::string message) {
  // A broken invariant tends to repeat on every poll: each message is listed once.
  ++violation_count_;
  if (violations_.size() < 200 && distinct_violations_.insert(message).second) {
    violations_.push_back(std::move(message));
  }
}

bool InvariantChecker::allConverged(std::vector<std::string>* lagging) const {
  bool all = true;
  for (const auto& [name, state] : es_) {
    if (state.deleted) continue;
    bool ok = state.last_exists;
    auto current = vault_current_.find(state.path);
    for (const std::string& key : secretKeys()) {
      auto value = state.last_data.find(key);
      ok = ok && current != vault_current_.end() && value != state.last_data.end() &&
           value->second == vaultValue(state.path, current->second, key);
    }
    if (!ok) {
      all = false;
      if (lagging != nullptr) lagging->push_back(name);
    }
  }
  return all;
}

bool InvariantChecker::allReady(std::vector<std::string>* not_ready) const {
  bool all = true;
  for (const auto& [name, state] : es_) {
    if (state.deleted || state.last_ready == "True") continue;
    all = false;
    if (not_ready != nullptr) not_ready->push_back(name);
  }
  return all;
}

std::vector<std::string> InvariantChecker::liveExternalSecrets() const {
  std::vector<std::string> live;
  for (const auto& [name, state] : es_) {
    if (!state.deleted) live.push_back(name);
  }
  return live;
}

void InvariantChecker::snapshotForCatchUp() {
  catch_up_.clear();
  for (const auto& [name, state] : es_) {
    auto current = vault_current_.find(state.path);
    if (!state.deleted && current != vault_current_.end()) {
      catch_up_[name] = {state.path, current->second};
    }
  }
}

bool InvariantChecker::caughtUp(std::vector<std::string>* lagging) const {
  bool all = true;
  for (const auto& [name, target] : catch_up_) {
    const EsState& state = es_.at(name);
    if (state.deleted || state.path != target.first) continue;
    bool ok = state.last_exists;
    for (const std::string& key : secretKeys()) {
      auto value = state.last_data.find(key);
      std::optional<uint64_t> generation;
      if (value != state.last_data.end()) generation = heldValue(state.path, key, value->second);
      ok = ok && generation.has_value() && *generation >= target.second;
    }
    if (!ok) {
      all = false;
      if (lagging != nullptr) lagging->push_back(name);
    }
  }
  return all;
}

void MountLedger::recordWrite(const std::string& dir,
                              const std::map<std::string, std::string>& files) {
  payloads_[dir].insert(canonical(files));
  ++writes_;
}

bool MountLedger::isWhole(const std::string& dir,
                          const std::map<std::string, std::string>& files) const {
  auto it = payloads_.find(dir);
  return it != payloads_.end() && it->second.count(canonical(files)) > 0;
}

std::string MountLedger::canonical(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [name, content] : files) {
    absl::StrAppend(&out, name.size(), ":", name, content.size(), ":", content);
  }
  return out;
}

}  // namespace secretsync::soak
