#include "cmd/secretsync/process_setup.h"

#include <algorithm>
#include <ctime>
#include <string>

#include "absl/strings/str_cat.h"

namespace secretsync::cmd {

absl::Status configureLogging(const common::ParsedFlags& flags, common::log::Level default_level,
                              common::log::Format default_format) {
  common::log::LoggerOptions options;
  options.level = default_level;
  options.format = default_format;
  if (flags.has("log-level")) {
    const auto level = common::log::parseLevel(flags.get("log-level"));
    if (!level) {
      return absl::InvalidArgumentError(
          absl::StrCat("--log-level: unknown value \"", flags.get("log-level"), "\""));
    }
    options.level = *level;
  }
  if (flags.has("log-format")) {
    const auto format = common::log::parseFormat(flags.get("log-format"));
    if (!format) {
      return absl::InvalidArgumentError(
          absl::StrCat("--log-format: unknown value \"", flags.get("log-format"), "\""));
    }
    options.format = *format;
  }
  common::log::configure(options);
  return absl::OkStatus();
}

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

const char* StopSignals::wait() const {
  int signal_number = 0;
  sigwait(&set_, &signal_number);
  return signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
}

bool StopSignals::waitFor(std::chrono::nanoseconds timeout) const {
  timeout = std::max(timeout, std::chrono::nanoseconds(0));
  timespec ts;
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
  return sigtimedwait(&set_, nullptr, &ts) > 0;
}

}  // namespace secretsync::cmd
