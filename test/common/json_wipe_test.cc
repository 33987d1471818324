#include "pkg/common/json_wipe.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace secretsync::common {
namespace {

bool allZero(const char* bytes, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (bytes[i] != 0) {
      return false;
    }
  }
  return true;
}

struct Buffer {
  const char* data;
  size_t capacity;
};

Buffer bufferOf(nlohmann::json& value) {
  auto& text = value.get_ref<nlohmann::json::string_t&>();
  return Buffer{text.data(), text.capacity()};
}

TEST(WipeJsonStringsTest, ZeroesEveryStringValueAtAnyDepthAndKeepsTheShape) {
  // A KV v2 read reply, with a value long enough to have its own heap buffer.
  const std::string password(100, 'p');
  nlohmann::json reply = nlohmann::json::parse(
      R"({"data":{"data":{"password":")" + password +
      R"(","user":"app"},"metadata":{"version":3}},"auth":null,"warnings":["w1","w2"]})");
  ASSERT_FALSE(reply.is_discarded());
  std::vector<Buffer> buffers = {bufferOf(reply["data"]["data"]["password"]),
                                 bufferOf(reply["data"]["data"]["user"]),
                                 bufferOf(reply["warnings"][1])};

  wipeJsonStrings(reply);

  for (const Buffer& buffer : buffers) {
    EXPECT_TRUE(allZero(buffer.data, buffer.capacity));
  }
  EXPECT_EQ(reply["data"]["data"]["password"], "");
  EXPECT_EQ(reply["data"]["data"]["user"], "");
  EXPECT_EQ(reply["warnings"], nlohmann::json::array({"", ""}));
  EXPECT_EQ(reply["data"]["metadata"]["version"], 3);
  EXPECT_TRUE(reply["auth"].is_null());
}

TEST(WipeJsonStringsTest, ZeroesBinaryValues) {
  nlohmann::json value = nlohmann::json::binary({1, 2, 3, 4});
  const auto* bytes = value.get_binary().data();
  const size_t capacity = value.get_binary().capacity();
  wipeJsonStrings(value);
  EXPECT_TRUE(value.get_binary().empty());
  EXPECT_TRUE(allZero(reinterpret_cast<const char*>(bytes), capacity));
}

TEST(WipeJsonStringsTest, DeepNestingDoesNotRecurse) {
  // Deeper than any stack would take one frame per level under ASan.
  nlohmann::json root = nlohmann::json::array();
  nlohmann::json* leaf = &root;
  for (int i = 0; i < 200000; ++i) {
    leaf->push_back(nlohmann::json::array());
    leaf = &(*leaf)[0];
  }
  leaf->push_back(std::string(64, 'x'));
  const Buffer buffer = bufferOf((*leaf)[0]);
  wipeJsonStrings(root);
  EXPECT_TRUE(allZero(buffer.data, buffer.capacity));
  // nlohmann's destructor of a deep value is iterative too; nothing more to check.
}

TEST(WipeJsonStringsTest, ScalarsOtherThanStringsAreLeftAlone) {
  nlohmann::json value = {{"n", 42}, {"b", true}, {"f", 1.5}, {"z", nullptr}};
  const nlohmann::json before = value;
  wipeJsonStrings(value);
  EXPECT_EQ(value, before);
}

}  // namespace
}  // namespace secretsync::common
