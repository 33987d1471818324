#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/common/clock.h"
#include "pkg/kube/kube_client.h"

namespace secretsync::test {

// The KubeClient calls, for fault injection and call counts.
enum class KubeVerb { kGet, kList, kCreate, kUpdate, kPatch, kApply, kRemove, kWatch, kToken };

// One accepted write, for tests asserting what was (or was not) written.
struct FakeKubeWrite {
  KubeVerb verb = KubeVerb::kCreate;
  std::string resource;  // plural, with "/status" for the status subresource
  std::string namespace_name;
  std::string name;
  std::string field_manager;
  std::optional<kube::PatchType> patch_type;  // patches only
  nlohmann::json body;                        // the object or patch as sent
  bool changed = false;          // false when the write left the object as it was (no new RV)
  std::string resource_version;  // after the write
};

// An in-memory KubeClient for unit tests of everything above pkg/kube (leader election, events,
// reconcilers), without HTTP. It keeps the API server's rules that callers depend on:
//  - a global resourceVersion counter (decimal strings; callers must still treat them as opaque);
//    uid, creationTimestamp on create; a write that changes nothing keeps the resourceVersion;
//  - create: 409 AlreadyExists; generateName; namespace mismatch 400;
//  - get/update/patch/remove of a missing object: 404 NotFound (kube::isNotFound);
//  - update with a stale metadata.resourceVersion, or a patch carrying one: 409 Conflict
//    (kube::isConflict); a custom resource updated without one: 422;
//  - merge patch (RFC 7386); strategic merge patch as a merge patch (Secrets' maps merge the
//    same way; list merge keys are not emulated), 415 for custom resources; JSON patch (RFC 6902,
//    a failed `test` → 422);
//  - apply: creates when missing; merges the applied object and removes leaves this field
//    manager applied before and left out (no conflict detection between managers);
//  - custom resources (a group that is not built in, see isCustomResource()): a status
//    subresource (writes to the main resource keep the stored status, "status" writes change
//    only status), status dropped on create, metadata.generation bumped when anything outside
//    metadata and status changes;
//  - deletion with finalizers sets deletionTimestamp; removing the last finalizer deletes;
//  - list: label selectors (k=v, k==v, k!=v, k, !k, comma-separated), field selectors
//    metadata.name / metadata.namespace, limit + continue;
//  - watch: ADDED for existing objects when resource_version is "" or "0", then every change
//    after the given resourceVersion; 410 (an ERROR event, then an isGone() error) for a version
//    older than the history (see compactHistory()); ends on options.stop, the handler returning
//    false, options.timeout (real time) or closeWatches();
//  - requestToken: needs the ServiceAccount object; returns "fake-token-<ns>-<sa>-<n>".
// Tests drive it with faults (failNext), inspect it with object()/objects()/writes()/calls(),
// and seed it with seed() (neither counted nor logged, no faults).
//
// Thread-safety: all methods are thread-safe (one mutex); watch() blocks its caller only.
class FakeKubeClient final : public kube::KubeClient {
 public:
  // @param clock timestamps (creationTimestamp, deletionTimestamp, token expiry).
  explicit FakeKubeClient(common::Clock& clock = common::realClock());
  ~FakeKubeClient() override;

  // KubeClient
  absl::StatusOr<nlohmann::json> get(const kube::Resource& resource,
                                     std::string_view namespace_name,
                                     std::string_view name) override;
  absl::StatusOr<kube::ObjectList> list(const kube::Resource& resource,
                                        std::string_view namespace_name,
                                        const kube::ListOptions& options) override;
  absl::StatusOr<nlohmann::json> create(const kube::Resource& resource,
                                        std::string_view namespace_name,
                                        const nlohmann::json& object,
                                        const kube::WriteOptions& options = {}) override;
  absl::StatusOr<nlohmann::json> update(const kube::Resource& resource,
                                        std::string_view namespace_name,
                                        const nlohmann::json& object,
                                        const kube::WriteOptions& options = {}) override;
  absl::StatusOr<nlohmann::json> patch(const kube::Resource& resource,
                                       std::string_view namespace_name, std::string_view name,
                                       kube::PatchType type, const nlohmann::json& patch,
                                       const kube::WriteOptions& options = {}) override;
  absl::StatusOr<nlohmann::json> apply(const kube::Resource& resource,
                                       std::string_view namespace_name,
                                       const nlohmann::json& object,
                                       const kube::WriteOptions& options = {}) override;
  absl::Status remove(const kube::Resource& resource, std::string_view namespace_name,
                      std::string_view name, const kube::DeleteOptions& options = {}) override;
  absl::Status watch(const kube::Resource& resource, std::string_view namespace_name,
                     const kube::WatchOptions& options, const kube::WatchHandler& handler) override;
  absl::StatusOr<kube::ServiceAccountToken> requestToken(std::string_view namespace_name,
                                                         std::string_view service_account,
                                                         const std::vector<std::string>& audiences,
                                                         std::chrono::seconds expiration) override;

  // --- Seeding and inspection (no faults, not counted, not in the write log) ---------------
  // Stores `object` (it names itself) as given, status included, replacing any object of that
  // name (uid and creationTimestamp kept). Watches see it. @return the stored object.
  absl::StatusOr<nlohmann::json> seed(const kube::Resource& resource, nlohmann::json object);
  std::optional<nlohmann::json> object(const kube::Resource& resource,
                                       std::string_view namespace_name,
                                       std::string_view name) const;
  // Objects of one collection; `namespace_name` "" = all namespaces.
  std::vector<nlohmann::json> objects(const kube::Resource& resource,
                                      std::string_view namespace_name = "") const;

  // --- Faults ------------------------------------------------------------------------------
  // The next `count` calls of `verb` (on `resource` when given, any otherwise) fail with
  // `status` without touching state. Rules are matched in the order they were added.
  void failNext(KubeVerb verb, int count, absl::Status status,
                std::optional<kube::Resource> resource = std::nullopt);
  // As above with an API error: `kube::apiError({http_status, reason}, message)`.
  void failNext(KubeVerb verb, int count, int http_status, std::string reason,
                std::optional<kube::Resource> resource = std::nullopt);
  void clearFaults();
  // Runs `hook` once, on the calling thread and without the client's lock, at the start of the
  // next call of `verb`, before it is counted or served: lets a test interleave a rival's writes
  // between a read and a write, or block a caller. The hook may call this client.
  void onNextCall(KubeVerb verb, std::function<void()> hook);

  // --- Counters, write log, watch control ---------------------------------------------------
  // Calls of `verb` made through the KubeClient interface (failed ones included).
  int64_t calls(KubeVerb verb) const;
  std::vector<FakeKubeWrite> writes() const;
  void clearWrites();
  std::string currentResourceVersion() const;
  // Forgets the change history: watches from any older resourceVersion get 410.
  void compactHistory();
  // Ends every open watch (OK), as a server-side timeout would.
  void closeWatches();
  // Sends a BOOKMARK at the current resourceVersion to every watch that allows bookmarks.
  void sendBookmarks();
  int openWatches() const;

  // Custom resources get generation and a status subresource: any group other than the core
  // group, the built-in "*.k8s.io" groups and apps/batch/policy/autoscaling.
  static bool isCustomResource(const kube::Resource& resource);

 private:
  struct Stored {
    nlohmann::json object;
    // Leaves (JSON pointers) each field manager last applied, for apply's removals.
    std::map<std::string, std::set<std::string>> applied;
  };
  struct Change {
    uint64_t rv = 0;
    std::string storage_key;
    kube::WatchEvent event;
  };
  struct Fault {
    KubeVerb verb;
    int remaining = 0;
    absl::Status status;
    std::optional<kube::Resource> resource;
  };
  using Key = std::pair<std::string, std::string>;  // (namespace, name)

  // Runs the hook registered for `verb`, if any. Expects mu_ not held.
  void runHook(KubeVerb verb);
  // Counts the call and @return the injected failure, if any. Expects mu_ held.
  absl::Status enterLocked(KubeVerb verb, const kube::Resource& resource);
  absl::StatusOr<nlohmann::json> createLocked(const kube::Resource& resource,
                                              std::string_view namespace_name,
                                              nlohmann::json object,
                                              const kube::WriteOptions& options, KubeVerb verb,
                                              const nlohmann::json& body);
  // Stores `candidate` as the next version of `stored` per the subresource rules, logs it.
  absl::StatusOr<nlohmann::json> commitLocked(const kube::Resource& resource, const std::string& ns,
                                              const std::string& name, Stored& stored,
                                              nlohmann::json candidate,
                                              const kube::WriteOptions& options, KubeVerb verb,
                                              const nlohmann::json& body,
                                              std::optional<kube::PatchType> patch_type);
  Stored* findLocked(const kube::Resource& resource, std::string_view ns, std::string_view name);
  void recordLocked(const std::string& storage_key, kube::WatchEvent::Type type,
                    const nlohmann::json& object);
  void logWriteLocked(KubeVerb verb, const kube::Resource& resource,
                      const kube::WriteOptions& options, const std::string& ns,
                      const std::string& name, const nlohmann::json& body,
                      std::optional<kube::PatchType> patch_type, bool changed,
                      const std::string& rv);
  nlohmann::json present(const kube::Resource& resource, nlohmann::json object) const;
  std::string nextRvLocked() { return std::to_string(++rv_); }

  common::Clock& clock_;
  mutable std::mutex mu_;
  // Signalled on every change, bookmark, closeWatches() and destruction.
  std::condition_variable changed_;
  uint64_t rv_ = 0;
  uint64_t uid_counter_ = 0;
  uint64_t token_counter_ = 0;
  // storage key (group/plural) → objects.
  std::map<std::string, std::map<Key, Stored>> objects_;
  std::deque<Change> history_;
  uint64_t compacted_rv_ = 0;
  uint64_t watch_epoch_ = 0;
  uint64_t bookmark_epoch_ = 0;
  int open_watches_ = 0;
  bool closing_ = false;
  std::vector<Fault> faults_;
  std::vector<std::pair<KubeVerb, std::function<void()>>> hooks_;
  std::map<KubeVerb, int64_t> calls_;
  std::vector<FakeKubeWrite> writes_;
};

}  // namespace secretsync::test
