#include "pkg/common/http/url_escape.h"

#include <string>

#include "gtest/gtest.h"

namespace secretsync::common::http {
namespace {

TEST(PercentEncodeTest, KeepsUnreservedAndWhatIsAskedEncodesTheRest) {
  EXPECT_EQ(percentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percentEncode("a b&c=d/e"), "a%20b%26c%3Dd%2Fe");
  EXPECT_EQ(percentEncode("a/b c", "/"), "a/b%20c");
  // Every byte of a multi-byte character, upper-case hex; NUL and 0xFF too.
  EXPECT_EQ(percentEncode("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(percentEncode(std::string("\0\xff", 2)), "%00%FF");
  EXPECT_EQ(percentEncode(""), "");
}

TEST(PercentEncodeTest, QueryComponentKeepsNothingElse) {
  EXPECT_EQ(escapeQueryComponent("labelSelector=a in (b,c)"),
            "labelSelector%3Da%20in%20%28b%2Cc%29");
  EXPECT_EQ(escapeQueryComponent("?#&+%"), "%3F%23%26%2B%25");
}

}  // namespace
}  // namespace secretsync::common::http
