#include "pkg/common/json_wipe.h"

#include <vector>

#include "pkg/common/secure_wipe.h"

namespace secretsync::common {

void wipeJsonStrings(nlohmann::json& value) {
  // An explicit stack, not recursion: replies are depth-limited when parsed, but this must not be
  // the one place a deep document can overflow the stack.
  std::vector<nlohmann::json*> pending{&value};
  while (!pending.empty()) {
    nlohmann::json* current = pending.back();
    pending.pop_back();
    switch (current->type()) {
      case nlohmann::json::value_t::string:
        wipeString(current->get_ref<nlohmann::json::string_t&>());
        break;
      case nlohmann::json::value_t::binary: {
        nlohmann::json::binary_t& bytes = current->get_binary();
        bytes.resize(bytes.capacity());  // as wipeString: the whole buffer, without reallocating
        secureWipe(bytes.data(), bytes.size());
        bytes.clear();
        break;
      }
      case nlohmann::json::value_t::object:
      case nlohmann::json::value_t::array:
        for (nlohmann::json& child : *current) {
          pending.push_back(&child);
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace secretsync::common
