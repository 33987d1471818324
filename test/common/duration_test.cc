#include "pkg/common/duration.h"

#include <string>

#include "gtest/gtest.h"

namespace secretsync::common {
namespace {

absl::Duration parsed(const std::string& text) {
  auto d = parseGoDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status();
  return d.ok() ? *d : absl::InfiniteDuration();
}

// The spellings ESO users write, read as Go reads them.
TEST(DurationTest, ParsesGoSyntax) {
  EXPECT_EQ(parsed("0"), absl::ZeroDuration());
  EXPECT_EQ(parsed("-0"), absl::ZeroDuration());
  EXPECT_EQ(parsed("0s"), absl::ZeroDuration());
  EXPECT_EQ(parsed("10s"), absl::Seconds(10));
  EXPECT_EQ(parsed("1h"), absl::Hours(1));
  EXPECT_EQ(parsed("1h30m"), absl::Minutes(90));
  EXPECT_EQ(parsed("1h0m0s"), absl::Hours(1));
  EXPECT_EQ(parsed("1.5h"), absl::Minutes(90));
  EXPECT_EQ(parsed("300ms"), absl::Milliseconds(300));
  EXPECT_EQ(parsed("2us"), absl::Microseconds(2));
  EXPECT_EQ(parsed("2\xC2\xB5s"), absl::Microseconds(2));
  EXPECT_EQ(parsed("2\xCE\xBCs"), absl::Microseconds(2));
  EXPECT_EQ(parsed("7ns"), absl::Nanoseconds(7));
  EXPECT_EQ(parsed(".5s"), absl::Milliseconds(500));
  EXPECT_EQ(parsed("1.s"), absl::Seconds(1));
  EXPECT_EQ(parsed("-1m"), absl::Minutes(-1));
  EXPECT_EQ(parsed("+1m"), absl::Minutes(1));
  EXPECT_EQ(parsed("1h1m1s1ms1us1ns"), absl::Hours(1) + absl::Minutes(1) + absl::Seconds(1) +
                                           absl::Milliseconds(1) + absl::Microseconds(1) +
                                           absl::Nanoseconds(1));
  EXPECT_EQ(parsed("2562047h47m16.854775807s"), absl::Nanoseconds(INT64_MAX));
  EXPECT_EQ(parsed("-2562047h47m16.854775808s"), absl::Nanoseconds(INT64_MIN));
}

TEST(DurationTest, RejectsWhatGoRejects) {
  for (const char* bad :
       {"", "-", "1", "10", "s", "1x", "1 h", " 1h", "1h ", "1.h.", "..s", "1hh",
        "9223372036854775808ns", "2562048h", "2562047h47m16.854775808s", "inf", "1e3s", "1,5h"}) {
    auto d = parseGoDuration(bad);
    EXPECT_FALSE(d.ok()) << "\"" << bad << "\"";
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(DurationTest, ErrorQuotesAtMostAPrefix) {
  const std::string long_text(1000, '9');
  auto d = parseGoDuration(long_text);
  ASSERT_FALSE(d.ok());
  EXPECT_LT(d.status().message().size(), 150u);
}

TEST(DurationTest, FormatsAsGo) {
  EXPECT_EQ(formatGoDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(formatGoDuration(absl::Hours(1)), "1h0m0s");
  EXPECT_EQ(formatGoDuration(absl::Minutes(90)), "1h30m0s");
  EXPECT_EQ(formatGoDuration(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(formatGoDuration(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(formatGoDuration(absl::Milliseconds(300)), "300ms");
  EXPECT_EQ(formatGoDuration(absl::Microseconds(1500)), "1.5ms");
  EXPECT_EQ(formatGoDuration(absl::Microseconds(2)), "2\xC2\xB5s");
  EXPECT_EQ(formatGoDuration(absl::Nanoseconds(7)), "7ns");
  EXPECT_EQ(formatGoDuration(absl::Seconds(-5)), "-5s");
  EXPECT_EQ(formatGoDuration(absl::Nanoseconds(INT64_MAX)), "2562047h47m16.854775807s");
}

TEST(DurationTest, FormatRoundTrips) {
  for (absl::Duration d :
       {absl::Hours(26), absl::Seconds(1), absl::Nanoseconds(123456789), absl::Minutes(-3)}) {
    EXPECT_EQ(parsed(formatGoDuration(d)), d);
  }
}

}  // namespace
}  // namespace secretsync::common
