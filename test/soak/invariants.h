#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace secretsync::soak {

using Clock = std::chrono::steady_clock;

// Every Vault value the soak writes names where it came from: "<path>#<generation>/<key>"
// ("app/p3#17/user"). So any value seen in a Secret or a mounted file tells which write it is
// from, and the checker can prove it is one Vault held, and that keys read together agree.
std::string vaultValue(const std::string& path, uint64_t generation, const std::string& key);

// The keys each soak secret holds in Vault, and each managed Secret gets.
inline const std::vector<std::string>& secretKeys() {
  static const auto* const kKeys = new std::vector<std::string>{"user", "pass"};
  return *kKeys;
}

// The invariants of the soak, fed with what the harness did (Vault writes, ExternalSecret
// changes, fault windows) and what it observed (Secrets, Ready conditions, mounted files), and
// judging each observation at once. Violations are kept as messages naming the object, never a
// value (values are test data, but the habit is the point).
//
// Thread-safety: not thread-safe; the caller serialises (the soak guards it with a mutex).
class InvariantChecker {
 public:
  explicit InvariantChecker(std::chrono::milliseconds fault_grace) : fault_grace_(fault_grace) {}

  // --- What the harness did --------------------------------------------------------------
  void recordVaultWrite(const std::string& path, uint64_t generation);
  void externalSecretCreated(const std::string& es, const std::string& secret,
                             const std::string& path);
  void externalSecretRetargeted(const std::string& es, const std::string& path);
  void externalSecretDeleted(const std::string& es);
  // A fault is active from `start` to `end` (equal for instantaneous ones); an end in the future
  // is allowed (it is extended later by calling again with the same start).
  void recordFault(Clock::time_point start, Clock::time_point end);

  // --- What the harness saw --------------------------------------------------------------
  // The Secret of ExternalSecret `es` as the API holds it now; nullopt when it does not exist.
  void observeSecret(Clock::time_point at, const std::string& es,
                     const std::optional<std::map<std::string, std::string>>& data);
  // The Ready condition's status of `es` ("True", "False", or "" when there is none).
  void observeReady(Clock::time_point at, const std::string& es, const std::string& status);
  // A value read from `path`'s `key` outside a Secret (a CSI file).
  void observeValue(const std::string& what, const std::string& path, const std::string& key,
                    const std::string& value);
  void addViolation(std::string message);

  // --- Judgement -------------------------------------------------------------------------
  // @return whether every live ExternalSecret's Secret, as last observed, holds Vault's current
  // value of its current path; `lagging` (optional) gets the names of those that do not.
  bool allConverged(std::vector<std::string>* lagging = nullptr) const;
  // @return whether every live ExternalSecret was last seen Ready=True.
  bool allReady(std::vector<std::string>* not_ready = nullptr) const;
  std::vector<std::string> liveExternalSecrets() const;
  // Remembers, for every live ExternalSecret, its path and Vault's generation of it now (the
  // moment the last fault ended), for caughtUp().
  void snapshotForCatchUp();
  // @return whether every ExternalSecret of the snapshot (still live, same path) was last seen
  // holding that generation or a newer one: the Secrets caught up with everything written up to
  // the snapshot, while the workload goes on writing.
  bool caughtUp(std::vector<std::string>* lagging = nullptr) const;
  // Distinct violation messages, in the order first seen (repeats are counted, not listed).
  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t violationCount() const { return violation_count_; }
  // Observations of a Secret mixing keys of two Vault writes (ExternalSecrets, like ESO, read each
  // `data` entry on its own, so two properties of one path may come from two versions).
  uint64_t mixedObservations() const { return mixed_observations_; }
  uint64_t readyFalseCaused() const { return ready_false_caused_; }
  uint64_t readyFalseUncaused() const { return ready_false_uncaused_; }
  uint64_t secretObservations() const { return secret_observations_; }

 private:
  struct EsState {
    std::string secret;
    std::string path;
    std::set<std::string> past_paths;  // paths it read before an edit
    bool deleted = false;
    bool secret_seen = false;
    std::string last_ready;
    std::map<std::string, std::string> last_data;
    bool last_exists = false;
  };
  bool faultNear(Clock::time_point at) const;
  // @return the generation `value` names if it is one Vault held for `path` and `key`.
  std::optional<uint64_t> heldValue(const std::string& path, const std::string& key,
                                    const std::string& value) const;

  std::chrono::milliseconds fault_grace_;
  uint64_t mixed_observations_ = 0;
  uint64_t violation_count_ = 0;
  std::set<std::string> distinct_violations_;
  std::map<std::string, std::set<uint64_t>> vault_history_;  // path -> generations written
  std::map<std::string, uint64_t> vault_current_;
  std::map<std::string, EsState> es_;
  std::map<std::string, std::pair<std::string, uint64_t>> catch_up_;  // es -> (path, generation)
  std::map<Clock::time_point, Clock::time_point> faults_;             // start -> end
  std::vector<std::string> violations_;
  uint64_t ready_false_caused_ = 0;
  uint64_t ready_false_uncaused_ = 0;
  uint64_t secret_observations_ = 0;
};

// The files of CSI mount targets: every payload written to a directory, so a reader's view can be
// checked to be exactly one of them (never files of two writes).
//
// Thread-safety: not thread-safe; the caller serialises.
class MountLedger {
 public:
  void recordWrite(const std::string& dir, const std::map<std::string, std::string>& files);
  // @return whether `files` equals one payload written to `dir`.
  bool isWhole(const std::string& dir, const std::map<std::string, std::string>& files) const;
  uint64_t writes() const { return writes_; }

 private:
  static std::string canonical(const std::map<std::string, std::string>& files);
  std::map<std::string, std::set<std::string>> payloads_;
  uint64_t writes_ = 0;
};

}  // namespace secretsync::soak
