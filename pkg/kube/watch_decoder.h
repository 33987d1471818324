#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "pkg/kube/kube_client.h"

namespace secretsync::kube {

// The longest watch frame accepted: a Secret is at most about 1 MiB, a custom resource a few MiB;
// a line far beyond that is a broken or hostile stream, not an event.
inline constexpr size_t kMaxWatchFrameBytes = 16u << 20;

// The deepest nesting of arrays and objects accepted in an object from the API server (a watch
// frame or a reply): real objects nest a few dozen levels; copying or printing one nested 100k
// deep would overflow the stack.
inline constexpr int kMaxObjectNesting = 512;

// Parses one watch frame: {"type": T, "object": {...}} with T one of ADDED, MODIFIED, DELETED,
// BOOKMARK, ERROR (kubernetes-api.md §2.3). Objects of ADDED/MODIFIED/DELETED need
// metadata.name; a BOOKMARK needs metadata.resourceVersion; an ERROR's object is a Status. A frame
// nested deeper than kMaxObjectNesting is refused.
// Errors are kDataLoss and never quote the frame (it may hold a Secret).
absl::StatusOr<WatchEvent> parseWatchEvent(std::string_view frame);

// Splits a watch stream into events: the bytes arrive in chunks that do not align with frames,
// so they are buffered and split on '\n' (a trailing '\r' and blank lines are ignored).
//
// Thread-safety: not thread-safe; one decoder per stream.
class WatchDecoder {
 public:
  // Called for each event; returning false stops decoding.
  using EventHandler = std::function<bool(WatchEvent&&)>;

  explicit WatchDecoder(size_t max_frame_bytes = kMaxWatchFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // Feeds the next bytes of the stream and hands every completed event to `handler`.
  // @return true to go on, false when the handler asked to stop; kDataLoss for a malformed frame
  // and kResourceExhausted for a frame longer than the limit (the stream is then unusable).
  absl::StatusOr<bool> feed(std::string_view chunk, const EventHandler& handler);

  // At the end of the stream: kDataLoss when it ended inside a frame.
  absl::Status finish() const;

  // @return how many events were decoded so far.
  size_t events() const { return events_; }

 private:
  const size_t max_frame_bytes_;
  // The incomplete frame after the last newline.
  std::string pending_;
  size_t events_ = 0;
};

}  // namespace secretsync::kube
