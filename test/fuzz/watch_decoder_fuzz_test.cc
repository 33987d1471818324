// Fuzz target for the watch stream decoder (pkg/kube/watch_decoder.h): bytes from the API server
// (or whatever sits between). The first byte picks where the stream is cut in two; decoding the
// two pieces must give exactly what decoding the whole gives, since chunks never align with
// frames.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/kube/watch_decoder.h"

namespace {

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

struct Outcome {
  std::vector<std::string> events;  // type and object, serialised
  bool ok = true;
  bool finished = true;
};

Outcome decode(const std::vector<std::string_view>& pieces) {
  secretsync::kube::WatchDecoder decoder(4096);
  Outcome out;
  const auto collect = [&](secretsync::kube::WatchEvent&& event) {
    check(event.object.is_object());
    out.events.push_back(
        std::to_string(static_cast<int>(event.type)) +
        event.object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return true;
  };
  for (const std::string_view piece : pieces) {
    const auto more = decoder.feed(piece, collect);
    if (!more.ok()) {
      out.ok = false;
      return out;
    }
  }
  out.finished = decoder.finish().ok();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = stream.empty() ? 0 : data[0] % (stream.size() + 1);
  const Outcome whole = decode({stream});
  const Outcome split = decode({stream.substr(0, cut), stream.substr(cut)});
  check(whole.ok == split.ok);
  if (whole.ok) {
    check(whole.events == split.events);
    check(whole.finished == split.finished);
  }
  return 0;
}
