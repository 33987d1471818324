#include "pkg/kube/leader_elector.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_fields.h"
#include "pkg/common/log.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/api_time.h"

namespace secretsync::kube {
namespace {

using nlohmann::json;
namespace log = common::log;

// client-go's JitterFactor for candidates' retries.
constexpr double kJitterFactor = 1.2;

int64_t intField(const json& object, const char* field) {
  const auto it = object.find(field);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

json LeaderElector::Record::toJson() const {
  return json{{"holderIdentity", holder},
              {"leaseDurationSeconds", lease_duration_seconds},
              {"acquireTime", acquire_time},
              {"renewTime", renew_time},
              {"leaseTransitions", transitions}};
}

LeaderElector::Record LeaderElector::Record::fromLease(const json& lease) {
  // A Lease written by anyone: missing or mistyped fields read as empty, as Go's nil pointers.
  Record record;
  const auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return record;
  record.holder = common::jsonString(*spec, "holderIdentity");
  record.lease_duration_seconds = intField(*spec, "leaseDurationSeconds");
  record.acquire_time = common::jsonString(*spec, "acquireTime");
  record.renew_time = common::jsonString(*spec, "renewTime");
  record.transitions = intField(*spec, "leaseTransitions");
  return record;
}

absl::StatusOr<std::unique_ptr<LeaderElector>> LeaderElector::create(KubeClient& client,
                                                                     common::Clock& clock,
                                                                     LeaderElectorOptions options) {
  const auto invalid = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("leader election lease ", options.namespace_name,
                                                   "/", options.name, ": ", common::av(what)));
  };
  if (options.namespace_name.empty()) return invalid("namespace must be set");
  if (options.name.empty()) return invalid("name must be set");
  if (options.identity.empty()) return invalid("identity must be set");
  if (options.retry_period <= std::chrono::milliseconds(0)) {
    return invalid("retry period must be greater than zero");
  }
  if (options.lease_duration <= options.renew_deadline) {
    return invalid("lease duration must be greater than the renew deadline");
  }
  if (std::chrono::duration<double>(options.renew_deadline).count() <=
      kJitterFactor * std::chrono::duration<double>(options.retry_period).count()) {
    return invalid("renew deadline must be greater than 1.2 × the retry period");
  }
  if (options.lease_duration < std::chrono::seconds(1)) {
    return invalid("lease duration must be at least 1s (leaseDurationSeconds is whole seconds)");
  }
  return std::unique_ptr<LeaderElector>(new LeaderElector(client, clock, std::move(options)));
}

LeaderElector::LeaderElector(KubeClient& client, common::Clock& clock, LeaderElectorOptions options)
    : client_(client), clock_(clock), options_(std::move(options)), leases_(resources::leases()) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mu_);
  return observed_holder_;
}

bool LeaderElector::sleep(std::chrono::nanoseconds duration) {
  std::unique_lock lock(mu_);
  return !common::waitUntil(wake_, lock, clock_, clock_.monotonicNow() + duration,
                            options_.max_real_wait, [this] { return stopping_; });
}

void LeaderElector::setObserved(const Record& record) {
  observed_ = record;
  observed_raw_ = record.toJson();
  observed_time_ = clock_.monotonicNow();
  std::lock_guard lock(mu_);
  observed_holder_ = record.holder;
}

bool LeaderElector::observedHolderIsUs() const { return observed_.holder == options_.identity; }

bool LeaderElector::observedValid(common::MonotonicTime now) const {
  return observed_time_ + std::chrono::seconds(observed_.lease_duration_seconds) > now;
}

absl::Status LeaderElector::writeRecord(const Record& record) {
  absl::StatusOr<json> written;
  if (!lease_) {
    json lease = {{"apiVersion", leases_.apiVersion()},
                  {"kind", leases_.kind},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.namespace_name}}},
                  {"spec", record.toJson()}};
    written = client_.create(leases_, options_.namespace_name, lease);
  } else {
    // A PUT of the Lease last read: its resourceVersion makes the write lose a race with 409.
    json lease = *lease_;
    if (!lease["spec"].is_object()) lease["spec"] = json::object();
    lease["spec"].update(record.toJson());
    written = client_.update(leases_, options_.namespace_name, lease);
  }
  if (!written.ok()) return written.status();
  lease_ = std::move(*written);
  return absl::OkStatus();
}

bool LeaderElector::tryAcquireOrRenew() {
  const std::string now = formatMicroTime(clock_.now());
  const int64_t duration_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count();
  Record desired{.holder = options_.identity,
                 .lease_duration_seconds = duration_seconds,
                 .acquire_time = now,
                 .renew_time = now,
                 .transitions = 0};
  const std::string lease_name = absl::StrCat(options_.namespace_name, "/", options_.name);

  // 1. The leader first updates optimistically with the version it wrote last.
  if (lease_ && observedHolderIsUs() && observedValid(clock_.monotonicNow())) {
    desired.acquire_time = observed_.acquire_time;
    desired.transitions = observed_.transitions;
    const absl::Status status = writeRecord(desired);
    if (status.ok()) {
      setObserved(desired);
      return true;
    }
    log::warn("leader election: optimistic renewal failed, reading the lease",
              {{"lease", lease_name}, {"error", status}});
  }

  // 2. Read the lease, or create it.
  absl::StatusOr<json> got = client_.get(leases_, options_.namespace_name, options_.name);
  if (!got.ok()) {
    if (!isNotFound(got.status())) {
      log::warn("leader election: cannot read the lease",
                {{"lease", lease_name}, {"error", got.status()}});
      return false;
    }
    lease_.reset();
    // AlreadyExists: another candidate created it first.
    if (const absl::Status status = writeRecord(desired); !status.ok()) {
      log::info("leader election: cannot create the lease",
                {{"lease", lease_name}, {"error", status}});
      return false;
    }
    setObserved(desired);
    return true;
  }
  lease_ = std::move(*got);

  // 3. Expiry is measured from when WE saw the record change, never from its renewTime.
  const Record old = Record::fromLease(*lease_);
  if (old.toJson() != observed_raw_) setObserved(old);
  if (!old.holder.empty() && observedValid(clock_.monotonicNow()) && !observedHolderIsUs()) {
    return false;
  }

  // 4. Take or renew it.
  if (observedHolderIsUs()) {
    desired.acquire_time = old.acquire_time;
    desired.transitions = old.transitions;
  } else {
    desired.transitions = old.transitions + 1;
  }
  if (const absl::Status status = writeRecord(desired); !status.ok()) {
    // 409: another candidate wrote first.
    log::info("leader election: cannot update the lease",
              {{"lease", lease_name}, {"error", status}});
    return false;
  }
  setObserved(desired);
  return true;
}

bool LeaderElector::release() {
  if (!lease_ || !observedHolderIsUs()) return true;
  const std::string now = formatMicroTime(clock_.now());
  const Record released{.holder = "",
                        .lease_duration_seconds = 1,
                        .acquire_time = now,
                        .renew_time = now,
                        .transitions = observed_.transitions};
  if (const absl::Status status = writeRecord(released); !status.ok()) {
    log::warn(
        "leader election: cannot release the lease",
        {{"lease", absl::StrCat(options_.namespace_name, "/", options_.name)}, {"error", status}});
    return false;
  }
  setObserved(released);
  return true;
}

void LeaderElector::reportTransition() {
  if (observed_.holder == reported_leader_) return;
  reported_leader_ = observed_.holder;
  if (options_.on_new_leader) options_.on_new_leader(reported_leader_);
}

void LeaderElector::becomeFollower() {
  if (leading_.exchange(false) && options_.on_stopped_leading) options_.on_stopped_leading();
}

void LeaderElector::run() {
  const std::string lease_name = absl::StrCat(options_.namespace_name, "/", options_.name);
  while (true) {
    // Candidate: retry with jitter until we hold the lease.
    while (true) {
      const bool acquired = tryAcquireOrRenew();
      reportTransition();
      if (acquired) break;
      const double jitter = 1.0 + kJitterFactor * std::clamp(options_.random(), 0.0, 1.0);
      if (!sleep(std::chrono::duration_cast<std::chrono::nanoseconds>(options_.retry_period *
                                                                      jitter))) {
        return;
      }
    }
    log::info("leader election: acquired the lease",
              {{"lease", lease_name}, {"identity", options_.identity}});
    leading_ = true;
    if (options_.on_started_leading) options_.on_started_leading();

    // Leader: renew every retry period; each round may retry until renew_deadline.
    bool stopped = false;
    bool renewed = true;
    while (renewed && !stopped) {
      if (!sleep(options_.retry_period)) {
        stopped = true;
        break;
      }
      const common::MonotonicTime deadline = clock_.monotonicNow() + options_.renew_deadline;
      renewed = false;
      while (true) {
        renewed = tryAcquireOrRenew();
        reportTransition();
        if (renewed) break;
        const common::MonotonicTime now = clock_.monotonicNow();
        if (now >= deadline) break;
        if (!sleep(std::min<std::chrono::nanoseconds>(options_.retry_period, deadline - now))) {
          stopped = true;
          break;
        }
        if (clock_.monotonicNow() >= deadline) break;
      }
    }
    if (stopped) {
      if (options_.release_on_stop) release();
      becomeFollower();
      return;
    }
    log::error("leader election: lost the lease, stopping work",
               {{"lease", lease_name}, {"identity", options_.identity}});
    becomeFollower();
  }
}

}  // namespace secretsync::kube
