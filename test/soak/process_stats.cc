#include "test/soak/process_stats.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace secretsync::soak {

absl::StatusOr<ProcessSample> sampleProcess(pid_t pid, std::chrono::milliseconds at) {
  const std::string base = absl::StrCat("/proc/", pid);
  std::ifstream status(base + "/status");
  if (!status) {
    return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
  }
  ProcessSample sample{.at = at};
  bool found = false;
  for (std::string line; std::getline(status, line);) {
    absl::string_view rest(line);
    if (absl::ConsumePrefix(&rest, "VmRSS:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, "kB");
      found = absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &sample.rss_kb);
    }
  }
  if (!found) {
    return absl::NotFoundError(absl::StrCat("process ", pid, " has no VmRSS (exiting?)"));
  }
  std::error_code ec;
  std::filesystem::directory_iterator it(base + "/fd", ec);
  if (ec) {
    return ec == std::errc::permission_denied
               ? absl::PermissionDeniedError(absl::StrCat(base, "/fd: ", ec.message()))
               : absl::NotFoundError(absl::StrCat(base, "/fd: ", ec.message()));
  }
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    ++sample.fds;
  }
  return sample;
}

uint64_t ProcessStats::peakRssKb() const {
  uint64_t peak = 0;
  for (const ProcessSample& s : samples_) peak = std::max(peak, s.rss_kb);
  return peak;
}

uint64_t ProcessStats::peakFds() const {
  uint64_t peak = 0;
  for (const ProcessSample& s : samples_) peak = std::max(peak, s.fds);
  return peak;
}

bool ProcessStats::judged(const GrowthBounds& bounds) const {
  const auto skip =
      static_cast<size_t>(static_cast<double>(samples_.size()) * bounds.warmup_fraction);
  return samples_.size() - skip >= bounds.min_samples;
}

absl::Status ProcessStats::checkFlat(const GrowthBounds& bounds) const {
  if (!judged(bounds)) {
    return absl::OkStatus();
  }
  const auto skip =
      static_cast<size_t>(static_cast<double>(samples_.size()) * bounds.warmup_fraction);
  const size_t third = (samples_.size() - skip) / 3;
  double first_rss = 0;
  double last_rss = 0;
  uint64_t first_fds = 0;
  uint64_t last_fds = 0;
  for (size_t i = 0; i < third; ++i) {
    const ProcessSample& first = samples_[skip + i];
    const ProcessSample& last = samples_[samples_.size() - third + i];
    first_rss += static_cast<double>(first.rss_kb) / static_cast<double>(third);
    last_rss += static_cast<double>(last.rss_kb) / static_cast<double>(third);
    first_fds = std::max(first_fds, first.fds);
    last_fds = std::max(last_fds, last.fds);
  }
  if (last_rss > first_rss * (1.0 + bounds.max_rss_growth)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: RSS grew from %.0f kB (mean of the first third after warm-up) to %.0f kB (last "
        "third), more than %.0f%%",
        name_, first_rss, last_rss, bounds.max_rss_growth * 100));
  }
  if (last_fds > first_fds + bounds.max_fd_growth) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: open fds grew from %d to %d, more than %d", name_, first_fds, last_fds,
                        bounds.max_fd_growth));
  }
  return absl::OkStatus();
}

}  // namespace secretsync::soak
