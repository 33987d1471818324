#pragma once

#include <chrono>

#include <signal.h>

#include "absl/status/status.h"
#include "pkg/common/flags.h"
#include "pkg/common/log.h"

namespace secretsync::cmd {

// Configures logging from --log-level and --log-format (with these defaults when absent).
// @return kInvalidArgument naming the flag for an unknown value.
absl::Status configureLogging(const common::ParsedFlags& flags, common::log::Level default_level,
                              common::log::Format default_format);

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
