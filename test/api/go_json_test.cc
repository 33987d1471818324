// Go's encoding/json output, byte for byte, for what ESO and sprig's toJson marshal.

#include "pkg/api/go_json.h"

#include "gtest/gtest.h"

namespace secretsync::api {
namespace {

using json = nlohmann::json;

// Keys sorted, compact, HTML characters and line separators escaped as Go escapes them.
TEST(GoJsonTest, ObjectsArraysAndEscapes) {
  const json value = {{"b", {1, 2.5, true, nullptr}},
                      {"a", "<x&y>"},
                      {"c", "tab\tnl\nbell\x07 quote\" back\\ del\x7f"},
                      {"d", "\xE2\x80\xA8\xE2\x80\xA9 ok \xC3\xA9"}};
  EXPECT_EQ(goJsonMarshal(value),
            "{\"a\":\"\\u003cx\\u0026y\\u003e\",\"b\":[1,2.5,true,null],"
            "\"c\":\"tab\\tnl\\nbell\\u0007 quote\\\" back\\\\ del\x7f\","
            "\"d\":\"\\u2028\\u2029 ok \xC3\xA9\"}");
}

// Each invalid UTF-8 byte becomes the escape \ufffd, as Go writes it; a valid U+FFFD stays raw.
TEST(GoJsonTest, InvalidUtf8) {
  EXPECT_EQ(goJsonMarshal(json(std::string("a\xff\xC3(b\xEF\xBF\xBD"))),
            "\"a\\ufffd\\ufffd(b\xEF\xBF\xBD\"");
  EXPECT_EQ(goJsonMarshal(json::object()), "{}");
  EXPECT_EQ(goJsonMarshal(json::array()), "[]");
}

}  // namespace
}  // namespace secretsync::api
