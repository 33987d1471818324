#include "pkg/sync/kube_credential_source.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/kube/api_error.h"

namespace secretsync::sync {

KubeCredentialSource::KubeCredentialSource(kube::KubeClient& client, common::Clock& clock,
                                           KubeCredentialSourceOptions options)
    : client_(client), clock_(clock), options_(options) {}

absl::StatusOr<std::map<std::string, common::SecretString>> KubeCredentialSource::objectData(
    const kube::Resource& resource, const std::string& namespace_name, const std::string& name) {
  const std::string cache_key = absl::StrCat(resource.kind, "/", namespace_name, "/", name);
  const common::MonotonicTime now = clock_.monotonicNow();
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = cache_.find(cache_key);
    if (it != cache_.end() && now - it->second.fetched < options_.cache_ttl) {
      return it->second.data;
    }
  }
  const std::string shown = absl::StrCat(resource.kind, " \"", namespace_name, "/", name, "\"");
  absl::StatusOr<nlohmann::json> object = client_.get(resource, namespace_name, name);
  if (!object.ok()) {
    if (kube::isNotFound(object.status())) {
      return absl::NotFoundError(absl::StrCat(shown, " not found"));
    }
    return absl::Status(object.status().code(),
                        absl::StrCat("reading ", shown, ": ", object.status().message()));
  }
  CachedObject cached{.fetched = now};
  const bool base64 = resource.kind == "Secret";
  if (const auto data = object->find("data"); data != object->end() && data->is_object()) {
    for (const auto& [key, value] : data->items()) {
      if (!value.is_string()) continue;
      std::string decoded;
      if (!base64) {
        decoded = value.get<std::string>();
      } else if (!absl::Base64Unescape(value.get_ref<const std::string&>(), &decoded)) {
        return absl::DataLossError(absl::StrCat(shown, " key \"", key, "\" is not valid base64"));
      }
      cached.data.emplace(key, common::SecretString(std::move(decoded)));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  cache_[cache_key] = cached;
  return std::move(cached.data);
}

absl::StatusOr<common::SecretString> KubeCredentialSource::keyOf(const kube::Resource& resource,
                                                                 const api::ObjectKeyRef& ref) {
  if (ref.namespace_name.empty()) {
    // A ClusterSecretStore reference without a namespace has none until an ExternalSecret uses it.
    return absl::FailedPreconditionError(
        absl::StrCat(resource.kind, " \"", ref.name, "\" is referenced without a namespace"));
  }
  absl::StatusOr<std::map<std::string, common::SecretString>> data =
      objectData(resource, ref.namespace_name, ref.name);
  if (!data.ok()) return data.status();
  const auto it = data->find(ref.key);
  if (it == data->end()) {
    return absl::NotFoundError(absl::StrCat(resource.kind, " \"", ref.namespace_name, "/", ref.name,
                                            "\" has no key \"", ref.key, "\""));
  }
  return it->second;
}

absl::StatusOr<common::SecretString> KubeCredentialSource::secretValue(
    const api::ObjectKeyRef& ref) {
  return keyOf(kube::resources::secrets(), ref);
}

absl::StatusOr<std::string> KubeCredentialSource::configMapValue(const api::ObjectKeyRef& ref) {
  absl::StatusOr<common::SecretString> value = keyOf(kube::resources::configMaps(), ref);
  if (!value.ok()) return value.status();
  return value->reveal();  // a CA bundle: public
}

absl::StatusOr<common::SecretString> KubeCredentialSource::requestToken(
    const api::TokenRequestSpec& spec) {
  const std::chrono::seconds expiration = spec.expiration_seconds > 0
                                              ? std::chrono::seconds(spec.expiration_seconds)
                                              : options_.default_token_expiration;
  absl::StatusOr<kube::ServiceAccountToken> token =
      client_.requestToken(spec.namespace_name, spec.service_account, spec.audiences, expiration);
  if (!token.ok()) {
    return absl::Status(token.status().code(),
                        absl::StrCat("TokenRequest for ServiceAccount \"", spec.namespace_name, "/",
                                     spec.service_account, "\": ", token.status().message()));
  }
  return common::SecretString(std::move(token->token));
}

}  // namespace secretsync::sync
