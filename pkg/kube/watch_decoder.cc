#include "pkg/kube/watch_decoder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/json_depth.h"

namespace secretsync::kube {
namespace {

bool isBlank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

absl::Status frameError(std::string_view what) {
  return absl::DataLossError(absl::StrCat("watch stream: ", common::av(what)));
}

// @return metadata.<field> when it is a string, else nullptr.
const std::string* metadataString(const nlohmann::json& object, const char* field) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return nullptr;
  const auto value = meta->find(field);
  if (value == meta->end() || !value->is_string()) return nullptr;
  return &value->get_ref<const std::string&>();
}

}  // namespace

absl::StatusOr<WatchEvent> parseWatchEvent(std::string_view frame) {
  if (common::jsonNestingDepth(frame, kMaxObjectNesting) > kMaxObjectNesting) {
    return frameError("a frame nests too deeply");
  }
  nlohmann::json parsed = nlohmann::json::parse(frame, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    return frameError("a frame is not a JSON object");
  }
  const auto type = parsed.find("type");
  const auto object = parsed.find("object");
  if (type == parsed.end() || !type->is_string()) {
    return frameError("a frame has no string \"type\"");
  }
  if (object == parsed.end() || !object->is_object()) {
    return frameError("a frame has no \"object\" object");
  }
  const std::string& name = type->get_ref<const std::string&>();
  WatchEvent event;
  if (name == "ADDED") {
    event.type = WatchEvent::Type::kAdded;
  } else if (name == "MODIFIED") {
    event.type = WatchEvent::Type::kModified;
  } else if (name == "DELETED") {
    event.type = WatchEvent::Type::kDeleted;
  } else if (name == "BOOKMARK") {
    event.type = WatchEvent::Type::kBookmark;
  } else if (name == "ERROR") {
    event.type = WatchEvent::Type::kError;
  } else {
    // The type is one of a handful of words; quoting a bounded prefix helps and leaks nothing.
    return frameError(absl::StrCat("unknown event type \"", name.substr(0, 32), "\""));
  }
  switch (event.type) {
    case WatchEvent::Type::kBookmark: {
      const std::string* rv = metadataString(*object, "resourceVersion");
      if (rv == nullptr || rv->empty()) {
        return frameError("a BOOKMARK has no metadata.resourceVersion");
      }
      break;
    }
    case WatchEvent::Type::kError:
      break;
    default: {
      const std::string* object_name = metadataString(*object, "name");
      if (object_name == nullptr || object_name->empty()) {
        return frameError(absl::StrCat("a ", name, " event's object has no metadata.name"));
      }
    }
  }
  event.object = std::move(*object);
  return event;
}

absl::StatusOr<bool> WatchDecoder::feed(std::string_view chunk, const EventHandler& handler) {
  while (!chunk.empty()) {
    const size_t newline = chunk.find('\n');
    const std::string_view piece = chunk.substr(0, newline);
    if (pending_.size() + piece.size() > max_frame_bytes_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("watch stream: a frame is longer than ", max_frame_bytes_, " bytes"));
    }
    if (newline == std::string_view::npos) {
      pending_.append(piece);
      return true;
    }
    chunk.remove_prefix(newline + 1);
    // Frames inside one chunk are parsed in place; only a frame split across chunks is copied.
    std::string_view frame = piece;
    if (!pending_.empty()) {
      pending_.append(piece);
      frame = pending_;
    }
    if (!isBlank(frame)) {
      absl::StatusOr<WatchEvent> event = parseWatchEvent(frame);
      pending_.clear();
      if (!event.ok()) {
        return absl::Status(event.status().code(),
                            absl::StrCat(event.status().message(), " (event ", events_ + 1, ")"));
      }
      ++events_;
      if (!handler(*std::move(event))) {
        return false;
      }
    }
    pending_.clear();
  }
  return true;
}

absl::Status WatchDecoder::finish() const {
  if (!isBlank(pending_)) {
    return absl::DataLossError(
        absl::StrCat("watch stream ended inside an event (", pending_.size(), " bytes pending)"));
  }
  return absl::OkStatus();
}

}  // namespace secretsync::kube
