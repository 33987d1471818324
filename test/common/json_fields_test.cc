#include "pkg/common/json_fields.h"

#include <string>

#include "gtest/gtest.h"

namespace secretsync::common {
namespace {

using nlohmann::json;

TEST(JsonFieldsTest, ReadsMembersOfTheRightType) {
  const json object = json::parse(R"({"kind":"Secret","immutable":true,
      "metadata":{"name":"db","namespace":"app","uid":"u-1"},"spec":{"a":[1]}})");
  EXPECT_EQ(jsonString(object, "kind"), "Secret");
  EXPECT_TRUE(jsonBool(object, "immutable"));
  EXPECT_EQ(metadataString(object, "name"), "db");
  EXPECT_EQ(metadataString(object, "namespace"), "app");
  EXPECT_EQ(metadataString(object, "uid"), "u-1");
  EXPECT_EQ(jsonMember(object, "spec"), json::parse(R"({"a":[1]})"));
}

// What a hostile or broken API server may send: every wrong type reads as absent, none throws
// (nlohmann's value("kind", "") throws type_error 302 on the first of these).
TEST(JsonFieldsTest, WrongTypesReadAsAbsentAndNeverThrow) {
  const json object = json::parse(R"({"kind":409,"immutable":"true","apiVersion":null,
      "metadata":{"name":5,"namespace":["app"],"uid":{"u":1},"resourceVersion":1.5}})");
  EXPECT_EQ(jsonString(object, "kind"), "");
  EXPECT_FALSE(jsonBool(object, "immutable"));
  EXPECT_EQ(jsonString(object, "apiVersion"), "");
  EXPECT_EQ(metadataString(object, "name"), "");
  EXPECT_EQ(metadataString(object, "namespace"), "");
  EXPECT_EQ(metadataString(object, "uid"), "");
  EXPECT_EQ(metadataString(object, "resourceVersion"), "");
}

TEST(JsonFieldsTest, NonObjectsAndMissingMembersReadAsAbsent) {
  for (const char* text : {"null", "[1,2]", "\"metadata\"", "7", "{}", R"({"metadata":"x"})",
                           R"({"metadata":[{"name":"db"}]})"}) {
    const json value = json::parse(text);
    EXPECT_FALSE(jsonMember(value, "metadata").is_object()) << text;
    EXPECT_EQ(jsonString(value, "kind"), "") << text;
    EXPECT_FALSE(jsonBool(value, "immutable")) << text;
    EXPECT_EQ(metadataString(value, "name"), "") << text;
  }
  // A chain of reads through absent members stays absent.
  EXPECT_TRUE(jsonMember(jsonMember(json(), "a"), "b").is_null());
}

}  // namespace
}  // namespace secretsync::common
