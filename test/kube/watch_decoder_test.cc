#include "pkg/kube/watch_decoder.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace secretsync::kube {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdded[] =
    R"({"type":"ADDED","object":{"kind":"Secret","metadata":{"name":"a","resourceVersion":"5"},"data":{"k":"c2VjcmV0LXZhbHVl"}}})";
constexpr char kBookmark[] =
    R"({"type":"BOOKMARK","object":{"kind":"Secret","metadata":{"resourceVersion":"9"}}})";
constexpr char kError[] =
    R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410}})";

class WatchDecoderTest : public ::testing::Test {
 protected:
  absl::StatusOr<bool> feed(std::string_view chunk) {
    return decoder_.feed(chunk, [this](WatchEvent&& event) {
      events_.push_back(std::move(event));
      return keep_going_;
    });
  }

  WatchDecoder decoder_;
  std::vector<WatchEvent> events_;
  bool keep_going_ = true;
};

// Frames split at every possible byte boundary decode to the same events.
TEST_F(WatchDecoderTest, FramesSplitAnywhere) {
  const std::string stream = std::string(kAdded) + "\n" + kBookmark + "\r\n\n" + kError + "\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    const auto collect = [&](WatchEvent&& event) {
      events.push_back(std::move(event));
      return true;
    };
    ASSERT_TRUE(decoder.feed(std::string_view(stream).substr(0, cut), collect).ok()) << cut;
    ASSERT_TRUE(decoder.feed(std::string_view(stream).substr(cut), collect).ok()) << cut;
    EXPECT_TRUE(decoder.finish().ok());
    ASSERT_EQ(events.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(events[0].type, WatchEvent::Type::kAdded);
    EXPECT_EQ(events[0].object["metadata"]["name"], "a");
    EXPECT_EQ(events[1].type, WatchEvent::Type::kBookmark);
    EXPECT_EQ(events[1].object["metadata"]["resourceVersion"], "9");
    EXPECT_EQ(events[2].type, WatchEvent::Type::kError);
    EXPECT_EQ(events[2].object["code"], 410);
  }
}

// One byte at a time works too, and every type is recognised.
TEST_F(WatchDecoderTest, ByteByByteAndAllTypes) {
  const std::string stream = R"({"type":"MODIFIED","object":{"metadata":{"name":"m"}}})"
                             "\n"
                             R"({"type":"DELETED","object":{"metadata":{"name":"d"}}})"
                             "\n";
  for (const char c : stream) ASSERT_TRUE(feed(std::string_view(&c, 1)).ok());
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].type, WatchEvent::Type::kModified);
  EXPECT_EQ(events_[1].type, WatchEvent::Type::kDeleted);
  EXPECT_EQ(decoder_.events(), 2u);
}

// A line that is not a watch frame is an error that does not quote the line.
TEST_F(WatchDecoderTest, GarbageLineIsAnErrorWithoutContent) {
  auto result = feed(std::string(kAdded) + "\nnot json but s3cr3t-garbage\n");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("event 2"));
  EXPECT_THAT(std::string(result.status().message()), Not(HasSubstr("s3cr3t")));
  EXPECT_EQ(events_.size(), 1u);
}

// Frames with the wrong shape are refused, each for its own reason.
TEST_F(WatchDecoderTest, MalformedFrames) {
  EXPECT_FALSE(parseWatchEvent(R"([1,2])").ok());
  EXPECT_FALSE(parseWatchEvent(R"({"object":{}})").ok());
  EXPECT_FALSE(parseWatchEvent(R"({"type":"ADDED"})").ok());
  EXPECT_FALSE(parseWatchEvent(R"({"type":"ADDED","object":"x"})").ok());
  EXPECT_FALSE(parseWatchEvent(R"({"type":"ADDED","object":{"metadata":{}}})").ok());
  EXPECT_FALSE(parseWatchEvent(R"({"type":"BOOKMARK","object":{"metadata":{}}})").ok());
  auto unknown = parseWatchEvent(R"({"type":"SYNC","object":{"metadata":{"name":"a"}}})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("SYNC"));
  EXPECT_TRUE(parseWatchEvent(R"({"type":"ERROR","object":{"code":500}})").ok());
}

// A stream cut inside a frame is reported by finish(); whitespace left over is not.
TEST_F(WatchDecoderTest, TruncatedStream) {
  ASSERT_TRUE(feed(std::string(kAdded) + "\n{\"type\":\"ADD").ok());
  EXPECT_EQ(events_.size(), 1u);
  EXPECT_EQ(decoder_.finish().code(), absl::StatusCode::kDataLoss);

  WatchDecoder clean;
  ASSERT_TRUE(clean.feed("\n \r\n", [](WatchEvent&&) { return true; }).ok());
  EXPECT_TRUE(clean.finish().ok());
}

// The handler can stop decoding; later frames of the chunk are not delivered.
TEST_F(WatchDecoderTest, HandlerStops) {
  keep_going_ = false;
  auto result = feed(std::string(kAdded) + "\n" + kBookmark + "\n");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(*result);
  EXPECT_EQ(events_.size(), 1u);
}

// A frame longer than the limit is refused before it is buffered whole.
TEST_F(WatchDecoderTest, FrameLimit) {
  WatchDecoder small(64);
  const auto ignore = [](WatchEvent&&) { return true; };
  ASSERT_TRUE(small.feed(std::string(40, ' '), ignore).ok());
  auto result = small.feed(std::string(40, 'x'), ignore);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace secretsync::kube
