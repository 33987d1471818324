#include "pkg/common/flags.h"

#include "gtest/gtest.h"

namespace secretsync::common {
namespace {

const std::vector<FlagSpec> kSpecs = {
    {.name = "file", .help = "a manifest", .repeated = true, .short_name = "f"},
    {.name = "output-dir", .help = "where to write"},
    {.name = "once", .help = "run once", .boolean = true},
};

// Validate that long, short, inline and repeated forms all land in the same slots.
TEST(FlagsTest, ParsesAllForms) {
  auto parsed = parseFlags(
      {"-f", "a.yaml", "--file=b.yaml", "--output-dir", "/tmp/x", "--once", "pos"}, kSpecs);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->all("file"), (std::vector<std::string>{"a.yaml", "b.yaml"}));
  EXPECT_EQ(parsed->get("output-dir"), "/tmp/x");
  EXPECT_EQ(parsed->get("once"), "true");
  EXPECT_EQ(parsed->positional, std::vector<std::string>{"pos"});
  EXPECT_FALSE(parsed->has("missing"));
  EXPECT_EQ(parsed->get("missing", "dflt"), "dflt");
}

// Validate that "--" stops flag parsing.
TEST(FlagsTest, DoubleDashEndsFlags) {
  auto parsed = parseFlags({"--once", "--", "--file"}, kSpecs);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->positional, std::vector<std::string>{"--file"});
}

// Validate that each kind of mistake is refused with the flag named.
TEST(FlagsTest, RefusesMistakesByName) {
  const auto unknown = parseFlags({"--bogus"}, kSpecs);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("--bogus"), std::string::npos);
  const auto missing = parseFlags({"--output-dir"}, kSpecs);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("output-dir"), std::string::npos);
  EXPECT_FALSE(parseFlags({"--once=yes"}, kSpecs).ok());
  EXPECT_FALSE(parseFlags({"--output-dir", "a", "--output-dir", "b"}, kSpecs).ok());
}

// Validate that help lists every flag with its text.
TEST(FlagsTest, HelpListsFlags) {
  const std::string help = flagsHelp(kSpecs);
  EXPECT_NE(help.find("-f, --file VALUE"), std::string::npos) << help;
  EXPECT_NE(help.find("--once"), std::string::npos);
  EXPECT_NE(help.find("where to write"), std::string::npos);
}

}  // namespace
}  // namespace secretsync::common
