#include "pkg/common/go_regexp.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace secretsync::common {
namespace {

using ::testing::HasSubstr;

GoRegexp mustCompile(const std::string& pattern) {
  auto re = GoRegexp::compile(pattern);
  EXPECT_TRUE(re.ok()) << pattern << ": " << re.status();
  return std::move(*re);
}

std::string replaceAll(const std::string& pattern, const std::string& src,
                       const std::string& tmpl) {
  return mustCompile(pattern).replaceAll(src, tmpl);
}

// The figures of Go's own Regexp.ReplaceAllString documentation: $1W names the group "1W" (empty
// when there is none), ${1}W is group 1 then "W".
TEST(GoRegexpTest, ReplaceAllExpandsAsGoDoes) {
  EXPECT_EQ(replaceAll("a(x*)b", "-ab-axxb-", "T"), "-T-T-");
  EXPECT_EQ(replaceAll("a(x*)b", "-ab-axxb-", "$1"), "--xx-");
  EXPECT_EQ(replaceAll("a(x*)b", "-ab-axxb-", "$1W"), "---");
  EXPECT_EQ(replaceAll("a(x*)b", "-ab-axxb-", "${1}W"), "-W-xxW-");
  EXPECT_EQ(replaceAll("a(?P<1W>x*)b", "-ab-axxb-", "$1W"), "--xx-");
  EXPECT_EQ(replaceAll("a(?P<1W>x*)b", "-ab-axxb-", "${1}W"), "-W-xxW-");
  EXPECT_EQ(replaceAll(R"((?P<key>\w+)=(?P<val>\w+))", "a=b;c=d", "${val}=$key"), "b=a;d=c");
  EXPECT_EQ(replaceAll("(x)", "x", "$0$1${0}"), "xxx");
}

// Go's extract(): a leading zero makes a name, not a number; an unmatched or absent group is
// empty; $$ is a dollar; a '$' that starts no reference stays as text.
TEST(GoRegexpTest, TemplateEdgeCases) {
  EXPECT_EQ(replaceAll("(x)", "x", "[$01][${01}][$2][$nope]"), "[][][][]");
  EXPECT_EQ(replaceAll("(a)|(b)", "b", "[$1|$2]"), "[|b]");
  EXPECT_EQ(replaceAll("x", "x", "$$1 ${ ${1 $- $"), "$1 ${ ${1 $- $");
  EXPECT_EQ(replaceAll("(x)", "x", "$999999999999"), "");
}

// Empty matches: never right after a previous match, and the search advances one character (a
// whole UTF-8 sequence) at a time, as Go's loop does.
TEST(GoRegexpTest, EmptyMatchesFollowGo) {
  EXPECT_EQ(replaceAll("a*", "baaac", "X"), "XbXcX");
  EXPECT_EQ(replaceAll("x*", "abc", "-"), "-a-b-c-");
  EXPECT_EQ(replaceAll("", "\xc3\xa9", "-"), "-\xc3\xa9-");
  EXPECT_EQ(replaceAll("x*", "", "-"), "-");
}

// A later search still sees the text before it: ^ matches only at the start, \b at a boundary.
TEST(GoRegexpTest, LaterMatchesKeepTheirContext) {
  EXPECT_EQ(replaceAll("^a", "aaa", "X"), "Xaa");
  EXPECT_EQ(replaceAll(R"(\bb)", "ab b", "X"), "ab X");
}

// Go syntax the ECMAScript engine lacked: flags, \A \z, Unicode classes, quoting.
TEST(GoRegexpTest, GoSyntax) {
  EXPECT_TRUE(mustCompile("(?i)api").matchesIn("APP/API"));
  EXPECT_TRUE(mustCompile(R"(\Aapp/\pL+\z)").matchesWhole("app/\xc3\xa9t\xc3\xa9"));
  EXPECT_TRUE(mustCompile(R"(\Q.*\E)").matchesWhole(".*"));
  EXPECT_FALSE(mustCompile(R"(\Q.*\E)").matchesWhole("ab"));
}

// matchesIn is Go's MatchString; matchesWhole anchors both ends, so "team-a" does not admit
// "evil-team-a".
TEST(GoRegexpTest, MatchesInAndWhole) {
  const GoRegexp re = mustCompile("team-a");
  EXPECT_TRUE(re.matchesIn("evil-team-a"));
  EXPECT_FALSE(re.matchesWhole("evil-team-a"));
  EXPECT_TRUE(re.matchesWhole("team-a"));
  EXPECT_TRUE(mustCompile("a|ab").matchesWhole("ab"));
}

TEST(GoRegexpTest, InvalidPatternsSayWhy) {
  for (const std::string pattern : {"([", "a{1001}", "x**", "(?P<n", "\xff"}) {
    auto re = GoRegexp::compile(pattern);
    ASSERT_FALSE(re.ok()) << pattern;
    EXPECT_EQ(re.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(re.status().message().empty());
  }
  EXPECT_EQ(GoRegexp::compile("([").status().message(), "missing ]: [");
  // RE2 quotes the rest of the pattern; a huge one is cut, and a newline cannot forge a log line.
  const std::string huge = "(\n" + std::string(100000, 'a');
  const std::string message(GoRegexp::compile(huge).status().message());
  EXPECT_LE(message.size(), 163u);
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_THAT(message, HasSubstr("missing ): ( aaaa"));
}

// What made std::regex unfit for outside input: deep nesting and long texts cost it stack (a
// crash), nested repeats exponential time. Here they compile and match with a bounded stack, in
// time linear in the text, or are refused for their size.
TEST(GoRegexpTest, HostilePatternsAndTextsAreBounded) {
  const std::string deep = std::string(100000, '(') + "a" + std::string(100000, ')');
  EXPECT_TRUE(mustCompile(deep).matchesWhole("a"));
  EXPECT_FALSE(GoRegexp::compile("((a{1000}){1000}){1000}").ok());

  std::string text;
  for (int i = 0; i < 500000; ++i) {
    text += "ab";
  }
  EXPECT_TRUE(mustCompile("(a|b)*").matchesWhole(text));
  EXPECT_FALSE(mustCompile("(a*)*c").matchesIn(text));
  EXPECT_EQ(mustCompile("(a|b)").replaceAll(text, "$1").size(), text.size());
}

}  // namespace
}  // namespace secretsync::common
