#include "pkg/common/duration.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"

namespace secretsync::common {
namespace {

constexpr uint64_t kNanosecond = 1;
constexpr uint64_t kMicrosecond = 1000 * kNanosecond;
constexpr uint64_t kMillisecond = 1000 * kMicrosecond;
constexpr uint64_t kSecond = 1000 * kMillisecond;
constexpr uint64_t kMinute = 60 * kSecond;
constexpr uint64_t kHour = 60 * kMinute;

// Longest text we quote back in an error, so a hostile value does not bloat a status message.
constexpr size_t kMaxQuoted = 64;

absl::Status invalid(std::string_view text, std::string_view why) {
  std::string_view shown = text.substr(0, kMaxQuoted);
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid duration \"", av(shown), text.size() > kMaxQuoted ? "..." : "", "\": ", av(why)));
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Returns the unit's size in nanoseconds, or 0 when unknown.
uint64_t unitNanos(std::string_view unit) {
  if (unit == "ns") {
    return kNanosecond;
  }
  // "µs" as U+00B5 (micro sign) and U+03BC (Greek mu), as Go accepts both.
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
    return kMicrosecond;
  }
  if (unit == "ms") {
    return kMillisecond;
  }
  if (unit == "s") {
    return kSecond;
  }
  if (unit == "m") {
    return kMinute;
  }
  if (unit == "h") {
    return kHour;
  }
  return 0;
}

// Appends the fraction digits of `v` (in units of 10^-prec) without trailing zeros.
void appendFraction(std::string& out, uint64_t& v, int prec) {
  std::string digits;
  bool printed = false;
  for (int i = 0; i < prec; ++i) {
    const uint64_t digit = v % 10;
    printed = printed || digit != 0;
    if (printed) {
      digits.insert(digits.begin(), static_cast<char>('0' + digit));
    }
    v /= 10;
  }
  if (printed) {
    out += '.';
    out += digits;
  }
}

}  // namespace

absl::StatusOr<absl::Duration> parseGoDuration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return absl::ZeroDuration();
  }
  if (s.empty()) {
    return invalid(text, "empty");
  }
  // Accumulated in nanoseconds, limited to 2^63 as Go's int64 Duration.
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(isDigit(s[0]) || s[0] == '.')) {
      return invalid(text, "expected a number");
    }
    uint64_t whole = 0;
    bool overflow = false;
    size_t i = 0;
    for (; i < s.size() && isDigit(s[i]); ++i) {
      if (whole > (kLimit - 9) / 10) {
        overflow = true;
        break;
      }
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    if (overflow) {
      return invalid(text, "out of range");
    }
    const bool had_whole = i > 0;
    // Fraction digits: kept as frac / scale, dropping digits past what can matter.
    uint64_t frac = 0;
    uint64_t scale = 1;
    bool had_frac = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      for (; i < s.size() && isDigit(s[i]); ++i) {
        had_frac = true;
        if (scale <= std::numeric_limits<uint64_t>::max() / 100) {
          frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
          scale *= 10;
        }
      }
    }
    if (!had_whole && !had_frac) {
      return invalid(text, "expected a number");
    }
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !isDigit(s[u])) {
      ++u;
    }
    const std::string_view unit_text = s.substr(i, u - i);
    if (unit_text.empty()) {
      return invalid(text, "missing unit (ns, us, ms, s, m, h)");
    }
    const uint64_t unit = unitNanos(unit_text);
    if (unit == 0) {
      return invalid(text, "unknown unit (ns, us, ms, s, m, h)");
    }
    if (whole > kLimit / unit) {
      return invalid(text, "out of range");
    }
    uint64_t term = whole * unit;
    if (frac > 0) {
      // frac/scale < 1, so frac * (unit/scale) fits; long double keeps sub-ns precision enough.
      term += static_cast<uint64_t>(static_cast<long double>(frac) *
                                    (static_cast<long double>(unit) / scale));
    }
    if (term > kLimit - total) {
      return invalid(text, "out of range");
    }
    total += term;
    s.remove_prefix(u);
  }
  if (total == kLimit && !negative) {
    return invalid(text, "out of range");
  }
  if (negative) {
    // -(2^63) is representable; build it without overflowing int64.
    return total == kLimit ? absl::Nanoseconds(std::numeric_limits<int64_t>::min())
                           : absl::Nanoseconds(-static_cast<int64_t>(total));
  }
  return absl::Nanoseconds(static_cast<int64_t>(total));
}

std::string formatGoDuration(absl::Duration d) {
  const int64_t ns_signed = absl::ToInt64Nanoseconds(d);
  if (ns_signed == 0) {
    return "0s";
  }
  const bool negative = ns_signed < 0;
  uint64_t v =
      negative ? uint64_t{0} - static_cast<uint64_t>(ns_signed) : static_cast<uint64_t>(ns_signed);
  std::string out;
  if (v < kSecond) {
    // Below a second Go uses the largest of ns, µs, ms with a fraction.
    std::string unit;
    int prec = 0;
    if (v < kMicrosecond) {
      unit = "ns";
    } else if (v < kMillisecond) {
      unit = "\xC2\xB5s";
      prec = 3;
    } else {
      unit = "ms";
      prec = 6;
    }
    std::string frac;
    appendFraction(frac, v, prec);
    out = absl::StrCat(v, frac, unit);
  } else {
    std::string frac;
    appendFraction(frac, v, 9);
    const uint64_t seconds = v % 60;
    v /= 60;
    std::string body = absl::StrCat(seconds, frac, "s");
    if (v > 0) {
      const uint64_t minutes = v % 60;
      v /= 60;
      body = absl::StrCat(minutes, "m", body);
      if (v > 0) {
        body = absl::StrCat(v, "h", body);
      }
    }
    out = std::move(body);
  }
  return negative ? "-" + out : out;
}

}  // namespace secretsync::common
