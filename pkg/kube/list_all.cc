#include "absl/strings/str_cat.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/kube_client.h"

namespace secretsync::kube {

absl::StatusOr<ObjectList> listAll(KubeClient& client, const Resource& resource,
                                   std::string_view namespace_name, ListOptions options) {
  ObjectList all;
  bool restarted = false;
  options.continue_token.clear();
  while (true) {
    absl::StatusOr<ObjectList> page = client.list(resource, namespace_name, options);
    if (!page.ok() && isGone(page.status()) && !options.continue_token.empty() && !restarted) {
      // The continue token outlived the server's history: start over with a fresh list, once.
      restarted = true;
      all = ObjectList{};
      options.continue_token.clear();
      continue;
    }
    if (!page.ok()) return page.status();
    for (nlohmann::json& item : page->items) all.items.push_back(std::move(item));
    all.resource_version = page->resource_version;
    if (page->continue_token.empty()) return all;
    options.continue_token = page->continue_token;
    // A continued list is served at the first page's version; the server rejects another.
    options.resource_version.clear();
  }
}

}  // namespace secretsync::kube
