#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "pkg/common/clock.h"
#include "pkg/kube/kube_client.h"
#include "pkg/sync/store_resolver.h"

namespace secretsync::sync {

struct KubeCredentialSourceOptions {
  // How long a Secret or ConfigMap read is reused. Stores are resolved on every reconcile; without
  // it N ExternalSecrets on one store would cost N GETs of its credential Secret per refresh.
  std::chrono::milliseconds cache_ttl{std::chrono::seconds(10)};
  // TokenRequest lifetime asked for when the store names none.
  std::chrono::seconds default_token_expiration{600};
};

// Reads store credentials through the Kubernetes API: Secret and ConfigMap keys by GET (the
// controller does not watch every Secret of the cluster: that would hold all of them in memory),
// service-account tokens by TokenRequest.
//
// Thread-safety: all methods may be called from many threads at once; one mutex guards the cache
// and is never held across an API call.
class KubeCredentialSource : public CredentialSource {
 public:
  // `client` and `clock` must outlive the source.
  KubeCredentialSource(kube::KubeClient& client, common::Clock& clock,
                       KubeCredentialSourceOptions options = {});

  absl::StatusOr<common::SecretString> secretValue(const api::ObjectKeyRef& ref) override;
  absl::StatusOr<std::string> configMapValue(const api::ObjectKeyRef& ref) override;
  absl::StatusOr<common::SecretString> requestToken(const api::TokenRequestSpec& spec) override;

 private:
  struct CachedObject {
    // Key -> decoded value; the whole `data` of the object.
    std::map<std::string, common::SecretString> data;
    common::MonotonicTime fetched;
  };

  // The decoded `data` of a Secret (base64 values) or ConfigMap (plain values), from the cache
  // or the API.
  absl::StatusOr<std::map<std::string, common::SecretString>> objectData(
      const kube::Resource& resource, const std::string& namespace_name, const std::string& name);
  absl::StatusOr<common::SecretString> keyOf(const kube::Resource& resource,
                                             const api::ObjectKeyRef& ref);

  kube::KubeClient& client_;
  common::Clock& clock_;
  const KubeCredentialSourceOptions options_;

  std::mutex mu_;
  // "<kind>/<namespace>/<name>" -> data.
  std::map<std::string, CachedObject> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace secretsync::sync
