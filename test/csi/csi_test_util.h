#pragma once

// Helpers shared by the CSI provider tests: MountRequests built the way the Secrets Store CSI
// Driver builds them, and a gRPC client over a unix socket, as the driver dials it.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/csi/v1alpha1/service.grpc.pb.h"

namespace secretsync::csi::testing {

// curl_global_init for the whole test binary, which the provider's HTTP clients need; never torn
// down, as clients may live until exit.
inline const common::http::CurlGlobal& curlGlobal() {
  static const auto* const global = new common::http::CurlGlobal();
  return *global;
}

// The pod a volume belongs to and the token the driver requested for it.
struct TestPod {
  std::string name = "app-0";
  std::string namespace_name = "prod";
  std::string uid = "uid-0";
  std::string service_account = "app";
  // serviceAccount.tokens entries by audience; empty: the attribute is left out.
  std::map<std::string, std::string> tokens;
};

// Adds the volume context kubelet and the driver put into every request: pod info and, when the
// pod has tokens, serviceAccount.tokens.
inline void addPodAttributes(const TestPod& pod, std::map<std::string, std::string>* attributes) {
  (*attributes)["csi.storage.k8s.io/pod.name"] = pod.name;
  (*attributes)["csi.storage.k8s.io/pod.namespace"] = pod.namespace_name;
  (*attributes)["csi.storage.k8s.io/pod.uid"] = pod.uid;
  (*attributes)["csi.storage.k8s.io/serviceAccount.name"] = pod.service_account;
  (*attributes)["csi.storage.k8s.io/ephemeral"] = "true";
  if (!pod.tokens.empty()) {
    nlohmann::json tokens = nlohmann::json::object();
    for (const auto& [audience, token] : pod.tokens) {
      tokens[audience] = {{"token", token}, {"expirationTimestamp", "2099-01-01T00:00:00Z"}};
    }
    (*attributes)["csi.storage.k8s.io/serviceAccount.tokens"] = tokens.dump();
  }
}

// @return MountRequest.attributes as the driver builds it: SPC parameters, then the volume
// context (pod info, serviceAccount.tokens), all strings, serialised as one JSON object.
inline std::string driverAttributes(std::map<std::string, std::string> parameters,
                                    const TestPod& pod) {
  parameters["secretProviderClass"] = "app-secrets";
  addPodAttributes(pod, &parameters);
  return nlohmann::json(parameters).dump();
}

inline v1alpha1::MountRequest requestWithAttributes(std::string attributes, const TestPod& pod) {
  v1alpha1::MountRequest request;
  request.set_attributes(std::move(attributes));
  request.set_secrets("{}");
  request.set_target_path("/var/lib/kubelet/pods/" + pod.uid +
                          "/volumes/kubernetes.io~csi/secrets/mount");
  request.set_permission("420");
  return request;
}

inline v1alpha1::MountRequest driverRequest(std::map<std::string, std::string> parameters,
                                            const TestPod& pod) {
  return requestWithAttributes(driverAttributes(std::move(parameters), pod), pod);
}

// A request from Deckhouse's patched driver (secrets-store.csi.deckhouse.io): the volume names a
// SecretsStoreImport with `secretsStoreImport` instead of `secretProviderClass`, so there are no
// SPC parameters, only the volume context.
inline v1alpha1::MountRequest deckhouseDriverRequest(const std::string& import_name,
                                                     const TestPod& pod) {
  std::map<std::string, std::string> attributes = {{"secretsStoreImport", import_name}};
  addPodAttributes(pod, &attributes);
  return requestWithAttributes(nlohmann::json(attributes).dump(), pod);
}

struct MountResult {
  grpc::Status status;
  v1alpha1::MountResponse response;

  // @return the contents of file `path`, or "<missing>".
  std::string file(const std::string& path) const {
    for (const auto& f : response.files()) {
      if (f.path() == path) {
        return f.contents();
      }
    }
    return "<missing>";
  }
  int mode(const std::string& path) const {
    for (const auto& f : response.files()) {
      if (f.path() == path) {
        return f.mode();
      }
    }
    return -1;
  }
  std::string version(const std::string& id) const {
    for (const auto& v : response.object_version()) {
      if (v.id() == id) {
        return v.version();
      }
    }
    return "<missing>";
  }
};

// A client of the provider socket, as the driver's: insecure credentials over "unix:PATH".
//
// Thread-safety: mount() and version() may be called from many threads at once.
class ProviderClient {
 public:
  explicit ProviderClient(const std::string& socket_path)
      : stub_(v1alpha1::CSIDriverProvider::NewStub(
            grpc::CreateChannel("unix:" + socket_path, grpc::InsecureChannelCredentials()))) {}

  MountResult mount(const v1alpha1::MountRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    MountResult result;
    result.status = stub_->Mount(&context, request, &result.response);
    return result;
  }

  grpc::Status version(v1alpha1::VersionResponse* response, bool wait_for_ready = false) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    context.set_wait_for_ready(wait_for_ready);
    v1alpha1::VersionRequest request;
    request.set_version("v1alpha1");
    return stub_->Version(&context, request, response);
  }

 private:
  std::unique_ptr<v1alpha1::CSIDriverProvider::Stub> stub_;
};

}  // namespace secretsync::csi::testing
