#pragma once

#include <chrono>
#include <vector>

#include <signal.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pkg/common/flags.h"
#include "pkg/common/log.h"

namespace secretsync::cmd {

// A command's logging when --log-level and --log-format are absent.
struct LoggingDefaults {
  common::log::Level level = common::log::Level::kInfo;
  common::log::Format format = common::log::Format::kJson;
};

// `own` followed by the flags every long-running or talking command shares: --log-level and
// --log-format (their help naming `defaults`) and --help.
std::vector<common::FlagSpec> withLoggingFlags(std::vector<common::FlagSpec> own,
                                               LoggingDefaults defaults);

// The --help flag alone, for commands that do not log.
common::FlagSpec helpFlag();

// Configures logging from --log-level and --log-format (with `defaults` when absent).
// @return kInvalidArgument naming the flag for an unknown value.
absl::Status configureLogging(const common::ParsedFlags& flags, LoggingDefaults defaults);

// The --cache-ttl flag: how long a store read is shared ("5s", "500ms", "0" for off).
common::FlagSpec cacheTtlFlag(std::string_view what_shares);
// Its value, or `fallback` when absent. @return kInvalidArgument naming the flag otherwise.
absl::StatusOr<std::chrono::milliseconds> cacheTtlFromFlags(const common::ParsedFlags& flags,
                                                            std::chrono::milliseconds fallback);

// SIGTERM and SIGINT, blocked in the calling thread and so in every thread it starts afterwards:
// construct it before any thread exists. The signals then wait for wait() or waitFor() instead of
// killing the process in the middle of a write or a mount.
//
// Thread-safety: wait() and waitFor() from the owning thread.
class StopSignals {
 public:
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Blocks until a stop signal arrives. @return "SIGTERM" or "SIGINT".
  const char* wait() const;
  // Waits at most `timeout` (0: just looks). @return true when a stop signal arrived.
  bool waitFor(std::chrono::nanoseconds timeout) const;

 private:
  sigset_t set_;
};

}  // namespace secretsync::cmd
