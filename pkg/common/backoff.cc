#include "pkg/common/backoff.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace secretsync::common {
namespace {

// Longest delay Retry-After may ask for before we saturate; keeps the millisecond count far from
// overflow when a server sends an absurd number. Callers cap it far lower anyway.
constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(24 * 365);

bool allDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
}

// Parses exactly `width` digits (or any positive number of digits when width is 0).
std::optional<int> parseDigits(std::string_view s, size_t width = 0) {
  if (!allDigits(s) || (width != 0 && s.size() != width) || s.size() > 9) {
    return std::nullopt;
  }
  int value = 0;
  if (!absl::SimpleAtoi(s, &value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<unsigned> parseMonth(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (s == kMonths[i]) {
      return static_cast<unsigned>(i + 1);
    }
  }
  return std::nullopt;
}

bool isWeekday(std::string_view s, bool long_form) {
  static constexpr std::array<std::string_view, 7> kShort = {"Mon", "Tue", "Wed", "Thu",
                                                             "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 7> kLong = {
      "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  const auto& names = long_form ? kLong : kShort;
  return std::find(names.begin(), names.end(), s) != names.end();
}

// "HH:MM:SS" → seconds since midnight.
std::optional<std::chrono::seconds> parseTimeOfDay(std::string_view s) {
  const std::vector<std::string_view> parts = absl::StrSplit(s, ':');
  if (parts.size() != 3) {
    return std::nullopt;
  }
  const auto h = parseDigits(parts[0], 2);
  const auto m = parseDigits(parts[1], 2);
  const auto sec = parseDigits(parts[2], 2);
  // 60 is a leap second, which HTTP-date allows.
  if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60) {
    return std::nullopt;
  }
  return std::chrono::hours(*h) + std::chrono::minutes(*m) + std::chrono::seconds(*sec);
}

std::optional<SystemTime> makeTime(int year, unsigned month, int day,
                                   std::chrono::seconds time_of_day) {
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return std::chrono::sys_days(ymd) + time_of_day;
}

// Parses the three HTTP-date forms of RFC 9110 section 5.6.7.
std::optional<SystemTime> parseHttpDate(std::string_view value, SystemTime now) {
  const std::vector<std::string_view> tokens =
      absl::StrSplit(value, ' ', absl::SkipEmpty());
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  if (tokens.size() == 6 && tokens[0].size() == 4 && tokens[0].back() == ',' &&
      isWeekday(tokens[0].substr(0, 3), false) && tokens[5] == "GMT") {
    const auto day = parseDigits(tokens[1], 2);
    const auto month = parseMonth(tokens[2]);
    const auto year = parseDigits(tokens[3], 4);
    const auto tod = parseTimeOfDay(tokens[4]);
    if (!day || !month || !year || !tod) {
      return std::nullopt;
    }
    return makeTime(*year, *month, *day, *tod);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
  if (tokens.size() == 4 && tokens[0].size() > 1 && tokens[0].back() == ',' &&
      isWeekday(tokens[0].substr(0, tokens[0].size() - 1), true) && tokens[3] == "GMT") {
    const std::vector<std::string_view> dmy = absl::StrSplit(tokens[1], '-');
    if (dmy.size() != 3) {
      return std::nullopt;
    }
    const auto day = parseDigits(dmy[0], 2);
    const auto month = parseMonth(dmy[1]);
    const auto yy = parseDigits(dmy[2], 2);
    const auto tod = parseTimeOfDay(tokens[2]);
    if (!day || !month || !yy || !tod) {
      return std::nullopt;
    }
    // RFC 9110: a two-digit year that looks more than 50 years in the future is in the past
    // century.
    const int now_year =
        static_cast<int>(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now))
                             .year());
    int year = (now_year / 100) * 100 + *yy;
    if (year > now_year + 50) {
      year -= 100;
    }
    return makeTime(year, *month, *day, *tod);
  }
  // asctime: "Sun Nov  6 08:49:37 1994".
  if (tokens.size() == 5 && isWeekday(tokens[0], false)) {
    const auto month = parseMonth(tokens[1]);
    const auto day = tokens[2].size() <= 2 ? parseDigits(tokens[2]) : std::nullopt;
    const auto tod = parseTimeOfDay(tokens[3]);
    const auto year = parseDigits(tokens[4], 4);
    if (!day || !month || !year || !tod) {
      return std::nullopt;
    }
    return makeTime(*year, *month, *day, *tod);
  }
  return std::nullopt;
}

}  // namespace

double threadLocalUniform() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  // generate_canonical may return exactly 1.0 with some libstdc++ versions (LWG 2524); clamp so
  // the documented [0, 1) holds.
  const double u = std::generate_canonical<double, std::numeric_limits<double>::digits>(generator);
  return u < 1.0 ? u : std::nextafter(1.0, 0.0);
}

Backoff::Backoff(BackoffPolicy policy, UniformRandom random)
    : policy_(policy), random_(std::move(random)) {
  if (!random_) {
    random_ = threadLocalUniform;
  }
}

std::chrono::milliseconds Backoff::next() {
  const double initial = static_cast<double>(std::max<int64_t>(policy_.initial.count(), 0));
  const double max = std::max(static_cast<double>(policy_.max.count()), 0.0);
  const double multiplier = std::max(policy_.multiplier, 1.0);
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);

  // Computed in double so a long run of failures saturates at max instead of overflowing.
  const double base = std::min(initial * std::pow(multiplier, static_cast<double>(attempts_)), max);
  if (attempts_ < std::numeric_limits<uint32_t>::max()) {
    ++attempts_;
  }
  const double u = std::clamp(random_(), 0.0, 1.0);
  const double delay = base * (1.0 - jitter * u);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(std::clamp(delay, 0.0, max))));
}

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, SystemTime now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) {
    return std::nullopt;
  }
  const bool negative = value.front() == '-';
  const std::string_view digits = negative ? value.substr(1) : value;
  if (allDigits(digits)) {
    if (negative) {
      return std::chrono::milliseconds(0);
    }
    uint64_t seconds = 0;
    if (!absl::SimpleAtoi(digits, &seconds) ||
        seconds > static_cast<uint64_t>(
                      std::chrono::duration_cast<std::chrono::seconds>(kMaxRetryAfter).count())) {
      return kMaxRetryAfter;
    }
    return std::chrono::seconds(seconds);
  }
  const std::optional<SystemTime> when = parseHttpDate(value, now);
  if (!when) {
    return std::nullopt;
  }
  if (*when <= now) {
    return std::chrono::milliseconds(0);
  }
  return std::min(std::chrono::ceil<std::chrono::milliseconds>(*when - now), kMaxRetryAfter);
}

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         const Clock& clock) {
  return parseRetryAfter(value, clock.now());
}

}  // namespace secretsync::common
