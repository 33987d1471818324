#include "pkg/common/backoff.h"

#include <chrono>
#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "test/support/manual_clock.h"

namespace secretsync::common {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

BackoffPolicy policy(int64_t initial_ms, int64_t max_ms, double jitter) {
  BackoffPolicy p;
  p.initial = milliseconds(initial_ms);
  p.max = milliseconds(max_ms);
  p.multiplier = 2.0;
  p.jitter = jitter;
  return p;
}

// Without jitter the delays double from `initial` and stop at `max`.
TEST(BackoffTest, GrowsExponentiallyUpToTheCap) {
  Backoff backoff(policy(100, 1000, 0.0), [] { return 0.5; });
  std::vector<int64_t> delays;
  for (int i = 0; i < 7; ++i) {
    delays.push_back(backoff.next().count());
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000, 1000}));
  EXPECT_EQ(backoff.attempts(), 7u);
}

// A long run of failures saturates at max rather than overflowing.
TEST(BackoffTest, ManyAttemptsStayAtTheCap) {
  Backoff backoff(policy(5, 1'000'000, 0.0));
  for (int i = 0; i < 5000; ++i) {
    const milliseconds d = backoff.next();
    ASSERT_GE(d.count(), 5);
    ASSERT_LE(d.count(), 1'000'000);
  }
  EXPECT_EQ(backoff.next(), milliseconds(1'000'000));
}

// Jitter takes at most `jitter` of the delay off, never adds to it.
TEST(BackoffTest, JitterStaysWithinBounds) {
  // u = 0 → the full delay; u → 1 → (1 - jitter) of it.
  Backoff low(policy(1000, 60'000, 0.5), [] { return 0.0; });
  EXPECT_EQ(low.next(), milliseconds(1000));
  Backoff high(policy(1000, 60'000, 0.5), [] { return 0.999999; });
  EXPECT_EQ(high.next(), milliseconds(500));

  // With the real generator every delay is inside [(1 - j) * d, d], and not all are equal.
  Backoff real(policy(1000, 1000, 0.3));
  int64_t lowest = 1000;
  int64_t highest = 0;
  for (int i = 0; i < 1000; ++i) {
    const int64_t d = real.next().count();
    ASSERT_GE(d, 700);
    ASSERT_LE(d, 1000);
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  EXPECT_LT(lowest, highest);
}

// The capped delay is jittered too, so retries of many clients at the cap still spread.
TEST(BackoffTest, JitterAppliesAtTheCap) {
  Backoff backoff(policy(100, 400, 0.5), [] { return 0.5; });
  EXPECT_EQ(backoff.next(), milliseconds(75));
  EXPECT_EQ(backoff.next(), milliseconds(150));
  EXPECT_EQ(backoff.next(), milliseconds(300));
  EXPECT_EQ(backoff.next(), milliseconds(300));
}

// reset() starts again from `initial`.
TEST(BackoffTest, ResetStartsOver) {
  Backoff backoff(policy(10, 10'000, 0.0));
  backoff.next();
  backoff.next();
  backoff.next();
  EXPECT_EQ(backoff.attempts(), 3u);
  backoff.reset();
  EXPECT_EQ(backoff.attempts(), 0u);
  EXPECT_EQ(backoff.next(), milliseconds(10));
}

// Out-of-range jitter and randomness are clamped instead of producing negative or huge delays.
TEST(BackoffTest, ClampsBadInputs) {
  Backoff backoff(policy(100, 1000, 7.0), [] { return 42.0; });
  EXPECT_EQ(backoff.next(), milliseconds(0));
  Backoff negative(policy(100, 1000, -1.0), [] { return -3.0; });
  EXPECT_EQ(negative.next(), milliseconds(100));
  Backoff nan_random(policy(100, 1000, 0.5), [] { return std::nan(""); });
  EXPECT_EQ(nan_random.next(), milliseconds(100));
  // A zero initial delay stays zero however many attempts pass (0 * inf must not become NaN).
  Backoff zero(policy(0, 1000, 0.0));
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(zero.next(), milliseconds(0));
  }
}

TEST(BackoffTest, ThreadLocalUniformIsInRange) {
  for (int i = 0; i < 10'000; ++i) {
    const double u = threadLocalUniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

// 2027-01-15T08:00:00Z, a Friday.
SystemTime fixedNow() {
  return std::chrono::sys_days(std::chrono::year(2027) / std::chrono::January / 15) +
         std::chrono::hours(8);
}

// delay-seconds, with surrounding whitespace; negative means "now".
TEST(RetryAfterTest, ParsesSeconds) {
  EXPECT_EQ(parseRetryAfter("120", fixedNow()), milliseconds(120'000));
  EXPECT_EQ(parseRetryAfter("  0 ", fixedNow()), milliseconds(0));
  EXPECT_EQ(parseRetryAfter("-5", fixedNow()), milliseconds(0));
  // Absurdly large values saturate instead of overflowing.
  const auto huge = parseRetryAfter("99999999999999999999999", fixedNow());
  ASSERT_TRUE(huge.has_value());
  EXPECT_GT(*huge, milliseconds(0));
  EXPECT_LE(*huge, std::chrono::hours(24 * 365));
}

// All three HTTP-date forms, measured from the given wall time.
TEST(RetryAfterTest, ParsesHttpDates) {
  EXPECT_EQ(parseRetryAfter("Fri, 15 Jan 2027 08:00:30 GMT", fixedNow()), seconds(30));
  EXPECT_EQ(parseRetryAfter("Friday, 15-Jan-27 08:01:00 GMT", fixedNow()), seconds(60));
  EXPECT_EQ(parseRetryAfter("Fri Jan 15 08:00:05 2027", fixedNow()), seconds(5));
  EXPECT_EQ(parseRetryAfter("Fri Jan  1 08:00:05 2027", fixedNow()), milliseconds(0));
  // A date in the past means "retry now".
  EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", fixedNow()), milliseconds(0));
}

// The Clock overload reads the clock's wall time (ManualClock starts at 1'800'000'000 s).
TEST(RetryAfterTest, UsesTheClock) {
  test::ManualClock clock;
  // 1'800'000'000 s since the epoch is 2027-01-15T08:00:00Z.
  EXPECT_EQ(parseRetryAfter("Fri, 15 Jan 2027 08:00:10 GMT", clock), seconds(10));
  clock.advance(seconds(4));
  EXPECT_EQ(parseRetryAfter("Fri, 15 Jan 2027 08:00:10 GMT", clock), seconds(6));
}

// Anything else is not a Retry-After value.
TEST(RetryAfterTest, RejectsGarbage) {
  for (const char* value :
       {"", "  ", "soon", "1.5", "12s", "+3", "-", "0x10", "Fri, 15 Jan 2027 08:00:30 UTC",
        "Fri, 32 Jan 2027 08:00:30 GMT", "Fri, 29 Feb 2027 08:00:30 GMT",
        "Fri, 15 Foo 2027 08:00:30 GMT", "Fri, 15 Jan 2027 25:00:30 GMT", "Fri, 15 Jan 2027 GMT",
        "Xyz, 15 Jan 2027 08:00:30 GMT", "Fri Jan 15 08:00:05", "2027-01-15T08:00:30Z"}) {
    EXPECT_EQ(parseRetryAfter(value, fixedNow()), std::nullopt) << value;
  }
}

}  // namespace
}  // namespace secretsync::common
