#include "pkg/common/backoff.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string_view>
#include <vector>

namespace secretsync::common {
namespace {

// Longest delay Retry-After may ask for before we saturate; keeps the millisecond count far from
// overflow when a server sends an absurd number. Callers cap it far lower anyway.
constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(24 * 365);

// Debian's Abseil is built with its own absl::string_view, which std::string_view does not
// convert to, so the few string helpers needed here are written out.
bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

std::string_view stripWhitespace(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits on `sep`; with skip_empty, runs of separators count as one.
std::vector<std::string_view> split(std::string_view s, char sep, bool skip_empty = false) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    const std::string_view part =
        s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!skip_empty || !part.empty()) {
      parts.push_back(part);
    }
    if (end == std::string_view::npos) {
      return parts;
    }
    start = end + 1;
  }
}

template <typename T>
bool parseInt(std::string_view s, T& value) {
  const auto result = std::from_chars(s.data(), s.data() + s.size(), value);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

// Parses exactly `width` digits (or any positive number of digits when width is 0).
std::optional<int> parseDigits(std::string_view s, size_t width = 0) {
  if (!allDigits(s) || (width != 0 && s.size() != width) || s.size() > 9) {
    return std::nullopt;
  }
  int value = 0;
  if (!parseInt(s, value)) {
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
  const std::vector<std::string_view> parts = split(s, ':');
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
  const std::vector<std::string_view> tokens = split(value, ' ', /*skip_empty=*/true);
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
    const std::vector<std::string_view> dmy = split(tokens[1], '-');
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
    const int now_year = static_cast<int>(
        std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
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
  // NaN fails every comparison, so it would slip through the clamps below.
  const double multiplier =
      std::isnan(policy_.multiplier) ? 1.0 : std::max(policy_.multiplier, 1.0);
  const double jitter = std::isnan(policy_.jitter) ? 0.0 : std::clamp(policy_.jitter, 0.0, 1.0);

  // Computed in double so a long run of failures saturates at max instead of overflowing.
  const double growth = std::pow(multiplier, static_cast<double>(attempts_));
  // initial == 0 would make 0 * inf a NaN once growth overflows.
  const double base = initial == 0.0 ? 0.0 : std::min(initial * growth, max);
  if (attempts_ < std::numeric_limits<uint32_t>::max()) {
    ++attempts_;
  }
  const double drawn = random_();
  const double u = std::isnan(drawn) ? 0.0 : std::clamp(drawn, 0.0, 1.0);
  const double delay = base * (1.0 - jitter * u);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(std::clamp(delay, 0.0, max))));
}

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, SystemTime now) {
  value = stripWhitespace(value);
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
    if (!parseInt(digits, seconds) ||
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
