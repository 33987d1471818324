#include "cmd/secretsync/process_setup.h"

#include <algorithm>
#include <ctime>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pkg/common/absl_view.h"

namespace secretsync::cmd {

std::vector<common::FlagSpec> withLoggingFlags(std::vector<common::FlagSpec> own,
                                               LoggingDefaults defaults) {
  own.push_back({.name = "log-level",
                 .help = absl::StrCat("debug | info | warn | error (default ",
                                      common::av(common::log::levelName(defaults.level)), ")")});
  own.push_back(
      {.name = "log-format",
       .help = absl::StrCat("json | text (default ",
                            defaults.format == common::log::Format::kJson ? "json" : "text", ")")});
  own.push_back(helpFlag());
  return own;
}

common::FlagSpec helpFlag() {
  return {.name = "help", .help = "show this help", .boolean = true, .short_name = "h"};
}

absl::Status configureLogging(const common::ParsedFlags& flags, LoggingDefaults defaults) {
  common::log::LoggerOptions options;
  options.level = defaults.level;
  options.format = defaults.format;
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

common::FlagSpec cacheTtlFlag(std::string_view what_shares) {
  return {.name = "cache-ttl",
          .help = absl::StrCat("how long a store read is shared between ", common::av(what_shares),
                               ", e.g. 5s, 500ms, 0 for off (default 5s)")};
}

absl::StatusOr<std::chrono::milliseconds> cacheTtlFromFlags(const common::ParsedFlags& flags,
                                                            std::chrono::milliseconds fallback) {
  if (!flags.has("cache-ttl")) {
    return fallback;
  }
  const std::string text = flags.get("cache-ttl");
  absl::Duration ttl;
  if (text == "0") {
    return std::chrono::milliseconds(0);
  }
  if (!absl::ParseDuration(common::av(text), &ttl) || ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cache-ttl: \"", text, "\" is not a duration such as 5s or 500ms"));
  }
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(ttl));
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
