#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/common/backoff.h"
#include "pkg/common/clock.h"
#include "pkg/common/clock_wait.h"
#include "pkg/kube/kube_client.h"

namespace secretsync::kube {

struct LeaderElectorOptions {
  // The Lease coordination.k8s.io/v1 <namespace>/<name>.
  std::string namespace_name;
  std::string name;
  // Who we are: unique per process (controller-runtime: "<hostname>_<uuid>").
  std::string identity;
  // controller-runtime's defaults (kubernetes-api.md §5.3).
  std::chrono::milliseconds lease_duration = std::chrono::seconds(15);
  std::chrono::milliseconds renew_deadline = std::chrono::seconds(10);
  std::chrono::milliseconds retry_period = std::chrono::seconds(2);
  // On stop(), hand the lease back (holder cleared, duration 1 s) so a standby takes over at
  // once instead of after lease_duration (client-go's ReleaseOnCancel).
  bool release_on_stop = false;

  // Callbacks, all on the elector's thread (they must not call stop() or destroy the elector,
  // and should return quickly: renewals wait for them).
  // We became the leader: start the work.
  std::function<void()> on_started_leading;
  // We are no longer the leader (renewals failed for renew_deadline, or stop()): stop all work
  // at once, another process may lead from lease_duration after our last renewal. Called only
  // after on_started_leading (client-go also calls it when it never led).
  std::function<void()> on_stopped_leading;
  // The observed holder changed ("" after a release), ourselves included.
  std::function<void(const std::string& identity)> on_new_leader;

  // Candidates retry every retry_period × (1 + 1.2 × random) as client-go's JitterUntil.
  common::UniformRandom random = common::threadLocalUniform;
  // See common::waitUntil; tests with a ManualClock pass about a millisecond.
  std::chrono::nanoseconds max_real_wait = common::kDefaultMaxRealWait;
};

// Lease-based leader election as client-go's tools/leaderelection (kubernetes-api.md §5.3):
//  - acquire when the Lease is missing (create), held by us, released (no holder), or expired;
//    expiry is judged by OUR monotonic clock from the moment we last saw the record change
//    (observedTime + leaseDurationSeconds), never from the remote renewTime, so clock skew
//    between nodes cannot make two leaders;
//  - every write is a PUT with the resourceVersion last read: a 409 means another candidate won
//    the race and we try again later; the leader first tries an optimistic update with its last
//    known version before reading;
//  - leaseTransitions + 1 and a new acquireTime when the holder changes; renewTime = now
//    (MicroTime) on every write;
//  - the leader renews every retry_period and stops leading when it could not renew for
//    renew_deadline (its lease stays valid for others until lease_duration after its last
//    renewal, longer than renew_deadline + retry_period, so no two processes lead at once).
// After losing leadership the elector keeps running as a candidate: on_started_leading may come
// again. A caller that wants client-go's "exit on loss" exits from on_stopped_leading.
//
// A blocked KubeClient call delays the thread; the client's own request timeout (well below
// renew_deadline) bounds it.
//
// Thread-safety: start(), stop(), isLeader() and leader() are thread-safe. tryAcquireOrRenew()
// and release() are the thread's steps, public for tests that drive an elector without start();
// they must not run concurrently with the thread or each other. RAII: the destructor stops.
class LeaderElector {
 public:
  // @return InvalidArgument (naming the field) unless namespace, name and identity are set and
  // lease_duration > renew_deadline > 1.2 × retry_period > 0, as client-go checks.
  static absl::StatusOr<std::unique_ptr<LeaderElector>> create(KubeClient& client,
                                                               common::Clock& clock,
                                                               LeaderElectorOptions options);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Starts the election thread. Once only.
  void start();
  // Stops the thread; when leading, releases the lease (if configured) and calls
  // on_stopped_leading. Idempotent.
  void stop();

  // @return true between on_started_leading and on_stopped_leading.
  bool isLeader() const { return leading_.load(); }
  // @return the holder identity last observed ("" when none).
  std::string leader() const;

  // One attempt to acquire or renew (client-go's tryAcquireOrRenew).
  // @return true when we hold the lease after it.
  bool tryAcquireOrRenew();
  // Gives the lease up if we hold it (holder "", leaseDurationSeconds 1). @return success.
  bool release();

 private:
  // The Lease's spec, as client-go's LeaderElectionRecord.
  struct Record {
    std::string holder;
    int64_t lease_duration_seconds = 0;
    std::string acquire_time;
    std::string renew_time;
    int64_t transitions = 0;
    nlohmann::json toJson() const;
    static Record fromLease(const nlohmann::json& lease);
  };

  LeaderElector(KubeClient& client, common::Clock& clock, LeaderElectorOptions options);

  void run();
  // Sleeps for `duration` of the clock's time. @return false when stop() was called.
  bool sleep(std::chrono::nanoseconds duration);
  // Writes `record` with a PUT of the last lease read (create when there is none).
  absl::Status writeRecord(const Record& record);
  void setObserved(const Record& record);
  bool observedHolderIsUs() const;
  bool observedValid(common::MonotonicTime now) const;
  void reportTransition();
  void becomeFollower();

  KubeClient& client_;
  common::Clock& clock_;
  const LeaderElectorOptions options_;
  const Resource leases_;

  // The state of the thread's steps; touched only by the step functions.
  std::optional<nlohmann::json> lease_;  // the Lease last read or written
  Record observed_;
  nlohmann::json observed_raw_;
  common::MonotonicTime observed_time_{};
  std::string reported_leader_;

  std::atomic<bool> leading_{false};
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::string observed_holder_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace secretsync::kube
