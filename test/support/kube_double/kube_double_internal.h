#pragma once

// Pieces shared by the KubeDouble implementation files; not for tests.

#include <string>

#include "pkg/common/clock.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/resource_types.h"

namespace secretsync::test {

namespace kube {

// A request path resolved against the registry.
struct ResourcePath {
  std::string group;
  std::string version;
  const ResourceType* type = nullptr;
  std::string namespace_name;
  std::string name;
  std::string subresource;
  bool all_namespaces = false;  // a namespaced type listed across namespaces
};

}  // namespace kube

// Who is asking and how, for one request.
struct KubeDouble::RequestContext {
  // The resolved path; path.type points at `type`, a copy taken under the lock.
  kube::ResourcePath path;
  kube::ResourceType type;
  std::string user;
  std::string field_manager;
  bool dry_run = false;
  // Seeding through the C++ API: not logged as a client write.
  bool internal = false;
};

namespace kube {

// @return false when the path names no served resource (a plain-text 404).
bool parseResourcePath(const ResourceRegistry& registry, const std::string& path,
                       ResourcePath* out);

// A boolean query parameter as Go's strconv.ParseBool reads it ("1", "t", "T", "true", "TRUE",
// "True"); clients such as python3-kubernetes send "True".
bool queryBool(const HttpServerRequest& request, const std::string& name);

// RFC 3339 `Time` (whole seconds) or `MicroTime` (6 fractional digits), UTC.
std::string formatTime(common::SystemTime t, bool micro);

}  // namespace kube
}  // namespace secretsync::test
