// KubeDouble: watch requests (reference §2.3), streamed as newline-delimited JSON events.

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "test/support/kube_double/api_status.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/kube_double_internal.h"
#include "test/support/kube_double/list_options.h"
#include "test/support/kube_double/selectors.h"

namespace secretsync::test {

using kube::ResourceType;

struct KubeDouble::WatchState {
  ResourceType type;
  std::string version;
  std::string namespace_name;  // empty: all namespaces
  kube::LabelSelector labels;
  kube::FieldSelector fields;
  bool bookmarks = false;
  std::chrono::steady_clock::time_point deadline;
  uint64_t cursor = 0;
  uint64_t epoch = 0;
  // Written first: synthetic ADDED events (and the initial-events-end bookmark), or the ERROR.
  std::string initial;
  bool error_only = false;

  bool matches(const nlohmann::json& object) const {
    if (!object.is_object()) {
      return false;
    }
    const nlohmann::json& meta = object["metadata"];
    if (!namespace_name.empty() && meta.value("namespace", "") != namespace_name) {
      return false;
    }
    return labels.matches(meta.value("labels", nlohmann::json())) && fields.matches(object);
  }
};

namespace {

constexpr std::chrono::milliseconds kPollSlice{50};

std::string eventLine(const std::string& type, const nlohmann::json& object) {
  nlohmann::json event = {{"type", type}, {"object", object}};
  return event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string goneLine(const std::string& message) {
  return eventLine("ERROR", kube::expired(message).toJson());
}

}  // namespace

HttpServerResponse KubeDouble::watch(const HttpServerRequest& request, RequestContext& ctx) {
  auto state = std::make_shared<WatchState>();
  state->type = ctx.type;
  state->version = ctx.path.version;
  state->namespace_name = ctx.path.namespace_name;
  auto labels = kube::LabelSelector::parse(request.queryParam("labelSelector").value_or(""));
  if (!labels.ok()) {
    return kube::badRequest(std::string(labels.status().message())).toResponse();
  }
  auto fields = kube::FieldSelector::parse(request.queryParam("fieldSelector").value_or(""),
                                           kube::selectableFields(ctx.type));
  if (!fields.ok()) {
    return kube::badRequest(std::string(fields.status().message())).toResponse();
  }
  state->labels = std::move(*labels);
  state->fields = std::move(*fields);
  state->bookmarks = kube::queryBool(request, "allowWatchBookmarks");
  int64_t timeout_seconds = 1800;
  if (auto t = request.queryParam("timeoutSeconds"); t.has_value() && !t->empty()) {
    if (!absl::SimpleAtoi(*t, &timeout_seconds) || timeout_seconds < 0) {
      return kube::badRequest(absl::StrCat("invalid timeoutSeconds: ", *t)).toResponse();
    }
    if (timeout_seconds == 0) {
      timeout_seconds = 1800;
    }
  }
  state->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  const std::string rv = request.queryParam("resourceVersion").value_or("");
  const bool send_initial = kube::queryBool(request, "sendInitialEvents");
  uint64_t start_rv = 0;
  if (!rv.empty() && rv != "0" && !absl::SimpleAtoi(rv, &start_rv)) {
    return kube::badRequest(absl::StrCat("invalid resource version: ", rv)).toResponse();
  }
  {
    std::lock_guard lock(mu_);
    state->epoch = watch_epoch_;
    if (force_gone_) {
      force_gone_ = false;
      state->error_only = true;
      state->initial = goneLine(absl::StrCat("too old resource version: ", rv.empty() ? "0" : rv,
                                             " (", store_.currentRv(), ")"));
    } else if (start_rv != 0 && !send_initial) {
      if (start_rv < store_.compactedRv()) {
        state->error_only = true;
        state->initial = goneLine(absl::StrCat("too old resource version: ", start_rv, " (",
                                               store_.compactedRv() + 1, ")"));
      }
      state->cursor = start_rv;
    } else {
      // Get State and Start at Most Recent: synthetic ADDED events first.
      for (const auto& [key, stored] :
           store_.list(state->type.storageKey(), state->namespace_name)) {
        if (state->matches(stored->object)) {
          absl::StrAppend(
              &state->initial,
              eventLine("ADDED", presentLocked(state->type, state->version, stored->object)));
        }
      }
      state->cursor = store_.currentRv();
      if (send_initial && state->bookmarks) {
        nlohmann::json bookmark = {{"kind", state->type.kind},
                                   {"apiVersion", state->type.apiVersion(state->version)},
                                   {"metadata",
                                    {{"resourceVersion", std::to_string(state->cursor)},
                                     {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}};
        absl::StrAppend(&state->initial, eventLine("BOOKMARK", bookmark));
      }
    }
  }
  HttpServerResponse res;
  res.status = 200;
  res.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-cache, private"}};
  res.stream = [this, state](StreamWriter& writer) { runWatch(state, writer); };
  return res;
}

void KubeDouble::runWatch(const std::shared_ptr<WatchState>& state, StreamWriter& writer) {
  {
    std::lock_guard lock(mu_);
    ++open_watches_;
  }
  struct Leave {
    KubeDouble* self;
    ~Leave() {
      std::lock_guard lock(self->mu_);
      --self->open_watches_;
    }
  } leave{this};
  if (!state->initial.empty() && !writer.write(state->initial)) {
    return;
  }
  if (state->error_only) {
    return;
  }
  auto next_bookmark = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    next_bookmark += options_.bookmark_interval;
  }
  const std::string storage_key = state->type.storageKey();
  while (true) {
    std::string out;
    bool finished = false;
    {
      std::unique_lock lock(mu_);
      auto now = std::chrono::steady_clock::now();
      auto wake = std::min(state->deadline, now + kPollSlice);
      if (state->bookmarks) {
        wake = std::min(wake, next_bookmark);
      }
      changed_.wait_until(lock, wake, [&] {
        return stopping_ || watch_epoch_ != state->epoch || store_.currentRv() > state->cursor;
      });
      if (stopping_ || watch_epoch_ != state->epoch) {
        return;
      }
      if (state->cursor < store_.compactedRv()) {
        // This watcher fell out of the history window.
        out = goneLine(absl::StrCat("too old resource version: ", state->cursor, " (",
                                    store_.compactedRv() + 1, ")"));
        finished = true;
      } else {
        for (const auto& change : store_.changesAfter(state->cursor, storage_key)) {
          bool now_matches = change.type != "DELETED" && state->matches(change.object);
          bool was_matching = !change.previous.is_null() && state->matches(change.previous);
          std::string type;
          if (change.type == "ADDED") {
            type = now_matches ? "ADDED" : "";
          } else if (change.type == "MODIFIED") {
            type = now_matches ? (was_matching ? "MODIFIED" : "ADDED")
                               : (was_matching ? "DELETED" : "");
          } else {
            type = was_matching ? "DELETED" : "";
          }
          if (!type.empty()) {
            absl::StrAppend(
                &out, eventLine(type, presentLocked(state->type, state->version, change.object)));
          }
        }
        state->cursor = store_.currentRv();
      }
      now = std::chrono::steady_clock::now();
      if (!finished && state->bookmarks && now >= next_bookmark) {
        nlohmann::json bookmark = {
            {"kind", state->type.kind},
            {"apiVersion", state->type.apiVersion(state->version)},
            {"metadata", {{"resourceVersion", std::to_string(state->cursor)}}}};
        absl::StrAppend(&out, eventLine("BOOKMARK", bookmark));
        next_bookmark = now + options_.bookmark_interval;
      }
    }
    if (!out.empty() && !writer.write(out)) {
      return;
    }
    if (finished || std::chrono::steady_clock::now() >= state->deadline || writer.closed()) {
      return;
    }
  }
}

}  // namespace secretsync::test
