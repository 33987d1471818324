#include "pkg/common/log.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pkg/common/secret_string.h"
#include "test/support/manual_clock.h"

namespace secretsync::common::log {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// 2026-11-22T06:00:00.123Z.
SystemTime fixedTime() {
  return std::chrono::sys_days(std::chrono::year(2026) / std::chrono::November / 22) +
         std::chrono::hours(6) + std::chrono::milliseconds(123);
}

// Points the process logger at a stringstream for one test and puts the old settings back.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { previous_ = configure(options(Level::kDebug, Format::kText)); }
  void TearDown() override { configure(previous_); }

  LoggerOptions options(Level level, Format format) {
    LoggerOptions o;
    o.level = level;
    o.format = format;
    o.out = &out_;
    o.clock = &clock_;
    return o;
  }

  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      result.push_back(line);
    }
    return result;
  }

  std::ostringstream out_;
  test::ManualClock clock_;
  LoggerOptions previous_;
};

TEST(LogFormatTest, TimestampIsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(formatTimestamp(fixedTime()), "2026-11-22T06:00:00.123Z");
  EXPECT_EQ(formatTimestamp(SystemTime(std::chrono::seconds(0))), "1970-01-01T00:00:00.000Z");
}

// The text form: timestamp, upper-case level, bare message, then key=value with quoting only
// where needed.
TEST(LogFormatTest, TextLine) {
  const std::string line =
      formatLine(Format::kText, fixedTime(), Level::kInfo, "store read",
                 {Field("path", "secret/data/a"), Field("version", int64_t{3}), Field("ok", true),
                  Field("note", "two words"), Field("empty", ""), Field("ratio", 0.25),
                  Field("err", absl::UnavailableError("vault sealed"))});
  EXPECT_EQ(line,
            "2026-11-22T06:00:00.123Z INFO store read path=secret/data/a version=3 ok=true "
            "note=\"two words\" empty=\"\" ratio=0.25 err=\"vault sealed\"\n");
}

// The JSON form: one object per line with ts, level, msg first and typed field values.
TEST(LogFormatTest, JsonLine) {
  const std::string line =
      formatLine(Format::kJson, fixedTime(), Level::kWarn, "store read",
                 {Field("path", std::string("secret/data/a")), Field("version", 3),
                  Field("big", uint64_t{1} << 63), Field("ok", false), Field("ratio", 1.5),
                  Field("status", absl::OkStatus())});
  EXPECT_EQ(line,
            "{\"ts\":\"2026-11-22T06:00:00.123Z\",\"level\":\"warn\",\"msg\":\"store read\","
            "\"path\":\"secret/data/a\",\"version\":3,\"big\":9223372036854775808,\"ok\":false,"
            "\"ratio\":1.5,\"status\":\"OK\"}\n");
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["version"], 3);
  EXPECT_EQ(parsed["ok"], false);
}

// Quotes, backslashes and control characters are escaped; UTF-8 passes through; invalid UTF-8
// becomes U+FFFD so the line is still valid JSON.
TEST(LogFormatTest, JsonEscaping) {
  const std::string tricky = std::string("a\"b\\c\nd\te\x01\x1f") + "\x7f" + "ключ ✓ \xff";
  const std::string line =
      formatLine(Format::kJson, fixedTime(), Level::kError, tricky, {Field("v", tricky)});
  EXPECT_THAT(line, HasSubstr(R"(a\"b\\c\nd\te\u0001\u001f\u007fключ ✓ )"
                              "\xEF\xBF\xBD"));
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["v"],
            "a\"b\\c\nd\te\x01\x1f\x7f"
            "ключ ✓ \xEF\xBF\xBD");
  EXPECT_EQ(parsed["msg"], parsed["v"]);
  // NaN and infinities are not JSON numbers.
  const auto nan = nlohmann::json::parse(
      formatLine(Format::kJson, fixedTime(), Level::kInfo, "m", {Field("x", std::nan(""))}));
  EXPECT_EQ(nan["x"], "NaN");
}

// Text values that contain spaces, quotes or newlines are quoted and escaped, and a message with
// a newline cannot start a second line.
TEST(LogFormatTest, TextQuoting) {
  const std::string line =
      formatLine(Format::kText, fixedTime(), Level::kDebug, "first\nsecond \"q\"",
                 {Field("a", "x=y"), Field("b", "say \"hi\"\n"), Field("c", "plain-value_1.2"),
                  Field("bad key", "v")});
  EXPECT_EQ(line,
            "2026-11-22T06:00:00.123Z DEBUG first\\nsecond \"q\" a=\"x=y\" "
            "b=\"say \\\"hi\\\"\\n\" c=plain-value_1.2 bad_key=v\n");
}

// A literal does not turn into a bool, and integer types keep their values.
TEST(LogFormatTest, FieldOverloads) {
  const char* literal = "text";
  EXPECT_EQ(std::get<std::string>(Field("k", literal).value()), "text");
  EXPECT_EQ(std::get<std::string>(Field("k", "lit").value()), "lit");
  EXPECT_EQ(std::get<std::string>(Field("k", std::string_view("sv")).value()), "sv");
  EXPECT_EQ(std::get<int64_t>(Field("k", -7).value()), -7);
  EXPECT_EQ(std::get<int64_t>(Field("k", int16_t{-2}).value()), -2);
  EXPECT_EQ(std::get<uint64_t>(Field("k", 7u).value()), 7u);
  EXPECT_EQ(std::get<bool>(Field("k", true).value()), true);
  EXPECT_EQ(std::get<double>(Field("k", 2.5f).value()), 2.5);
}

// The redaction rule: a SecretString field holds the marker only, in both formats, and the
// value is not even stored in the Field.
TEST(LogFormatTest, SecretStringIsNeverPrinted) {
  const SecretString token("hvs.CAESIJ-super-secret-token");
  const Field field("token", token);
  EXPECT_TRUE(std::holds_alternative<Field::Redacted>(field.value()));
  for (const Format format : {Format::kJson, Format::kText}) {
    const std::string line =
        formatLine(format, fixedTime(), Level::kInfo, "login", {field, Field("t2", token)});
    EXPECT_THAT(line, Not(HasSubstr("hvs.")));
    EXPECT_THAT(line, Not(HasSubstr("super-secret")));
    EXPECT_THAT(line, HasSubstr("[redacted]"));
  }
  EXPECT_EQ(nlohmann::json::parse(
                formatLine(Format::kJson, fixedTime(), Level::kInfo, "login", {field}))["token"],
            "[redacted]");
}

TEST(LogFormatTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(parseLevel("DEBUG"), Level::kDebug);
  EXPECT_EQ(parseLevel("info"), Level::kInfo);
  EXPECT_EQ(parseLevel("warning"), Level::kWarn);
  EXPECT_EQ(parseLevel("Error"), Level::kError);
  EXPECT_EQ(parseLevel("verbose"), std::nullopt);
  EXPECT_EQ(parseFormat("json"), Format::kJson);
  EXPECT_EQ(parseFormat("TEXT"), Format::kText);
  EXPECT_EQ(parseFormat("xml"), std::nullopt);
  EXPECT_EQ(levelName(Level::kWarn), "warn");
}

// The process logger writes to the configured stream with the configured clock.
TEST_F(LogTest, WritesThroughTheProcessLogger) {
  info("started", {{"port", 8080}, {"secret", SecretString("s3cr3t")}});
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "2027-01-15T08:00:00.000Z INFO started port=8080 secret=[redacted]");
}

// Lines below the configured level are dropped; enabled() agrees.
TEST_F(LogTest, FiltersByLevel) {
  configure(options(Level::kWarn, Format::kJson));
  EXPECT_FALSE(enabled(Level::kInfo));
  EXPECT_TRUE(enabled(Level::kError));
  debug("d");
  info("i");
  warn("w");
  error("e", {{"code", 5}});
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(got[0])["msg"], "w");
  EXPECT_EQ(nlohmann::json::parse(got[1])["level"], "error");
  EXPECT_EQ(nlohmann::json::parse(got[1])["code"], 5);
}

// Lines from many threads never interleave: every line is a whole JSON object.
TEST_F(LogTest, ConcurrentWritersProduceWholeLines) {
  configure(options(Level::kInfo, Format::kJson));
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  const std::string payload(200, 'x');
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) {
        info("concurrent", {{"thread", t}, {"i", i}, {"payload", payload}});
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto got = lines();
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kLines));
  std::map<int, int> next_index;
  for (const auto& line : got) {
    const auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << line;
    const int thread = parsed["thread"];
    // Each thread's lines appear in the order it wrote them.
    EXPECT_EQ(parsed["i"], next_index[thread]++);
    EXPECT_EQ(parsed["payload"], payload);
  }
}

}  // namespace
}  // namespace secretsync::common::log
