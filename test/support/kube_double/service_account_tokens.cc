// KubeDouble: TokenRequest, TokenReview and the Vault TokenReviewer bound to the double.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pkg/common/absl_view.h"
#include "test/support/kube_double/api_status.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/kube_double_internal.h"
#include "test/support/vault_double/jwt.h"

namespace secretsync::test {

namespace {

constexpr int64_t kMinExpirationSeconds = 600;
constexpr int64_t kMaxExpirationSeconds = int64_t{1} << 32;

std::vector<std::string> audiencesOf(const nlohmann::json& claims) {
  std::vector<std::string> out;
  if (!claims.contains("aud")) {
    return out;
  }
  const nlohmann::json& aud = claims["aud"];
  if (aud.is_string()) {
    out.push_back(aud.get<std::string>());
  } else if (aud.is_array()) {
    for (const auto& a : aud) {
      if (a.is_string()) {
        out.push_back(a.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> KubeDouble::requestServiceAccountToken(
    const std::string& namespace_name, const std::string& name,
    const std::vector<std::string>& audiences, int64_t expiration_seconds) {
  std::string uid;
  {
    std::lock_guard lock(mu_);
    const kube::ResourceType* sa = registry_.find("", "v1", "serviceaccounts");
    kube::StoredObject* stored = store_.find(sa->storageKey(), namespace_name, name);
    if (stored == nullptr) {
      return absl::NotFoundError(absl::StrCat("serviceaccounts \"", name, "\" not found"));
    }
    uid = stored->object["metadata"].value("uid", "");
  }
  std::vector<std::string> auds = audiences.empty() ? options_.api_audiences : audiences;
  common::SystemTime expiry = clock_->now() + std::chrono::seconds(expiration_seconds);
  return mintServiceAccountJwt(options_.service_account_key, namespace_name, name, auds, expiry,
                               uid, options_.service_account_issuer);
}

absl::StatusOr<vault::ServiceAccountInfo> KubeDouble::reviewToken(
    const std::string& jwt, const std::vector<std::string>& audiences) const {
  auto parsed = vault::parseJwt(jwt);
  if (!parsed.ok()) {
    return absl::UnauthenticatedError("invalid bearer token");
  }
  if (!vault::verifyHs256(*parsed, options_.service_account_key)) {
    return absl::UnauthenticatedError(
        "invalid bearer token, square/go-jose: error in "
        "cryptographic primitive");
  }
  const nlohmann::json& claims = parsed->claims;
  if (claims.value("iss", "") != options_.service_account_issuer) {
    return absl::UnauthenticatedError("invalid bearer token, token issuer is not trusted");
  }
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
  if (!claims.contains("exp") || !claims["exp"].is_number() ||
      claims["exp"].get<int64_t>() <= now) {
    return absl::UnauthenticatedError("invalid bearer token, Token has expired.");
  }
  std::vector<std::string> wanted = audiences.empty() ? options_.api_audiences : audiences;
  std::vector<std::string> have = audiencesOf(claims);
  bool any = std::any_of(wanted.begin(), wanted.end(), [&](const std::string& a) {
    return std::find(have.begin(), have.end(), a) != have.end();
  });
  if (!any) {
    return absl::UnauthenticatedError(absl::StrCat(
        "invalid bearer token, token audiences [\"", absl::StrJoin(have, "\",\""),
        "\"] is invalid for the target audiences [\"", absl::StrJoin(wanted, "\",\""), "\"]"));
  }
  std::vector<std::string> sub = absl::StrSplit(claims.value("sub", ""), ':');
  if (sub.size() != 4 || sub[0] != "system" || sub[1] != "serviceaccount") {
    return absl::UnauthenticatedError("invalid bearer token, not a service account token");
  }
  vault::ServiceAccountInfo info{sub[2], sub[3], ""};
  if (claims.contains("kubernetes.io") && claims["kubernetes.io"].is_object()) {
    const nlohmann::json& k = claims["kubernetes.io"];
    if (k.contains("serviceaccount") && k["serviceaccount"].is_object()) {
      info.uid = k["serviceaccount"].value("uid", "");
    }
  }
  std::lock_guard lock(mu_);
  const kube::ResourceType* sa = registry_.find("", "v1", "serviceaccounts");
  auto* self = const_cast<KubeDouble*>(this);
  kube::StoredObject* stored = self->store_.find(sa->storageKey(), info.namespace_name, info.name);
  if (stored == nullptr ||
      (!info.uid.empty() && stored->object["metadata"].value("uid", "") != info.uid)) {
    return absl::UnauthenticatedError(
        common::av(absl::StrCat("invalid bearer token, service account ", info.namespace_name, "/",
                                info.name, " has been deleted")));
  }
  return info;
}

vault::TokenReviewer KubeDouble::tokenReviewer() {
  return [this](const std::string& jwt, const std::vector<std::string>& audiences) {
    return reviewToken(jwt, audiences);
  };
}

HttpServerResponse KubeDouble::tokenRequestEndpoint(const HttpServerRequest& request,
                                                    RequestContext& ctx) {
  const std::string& ns = ctx.path.namespace_name;
  const std::string& name = ctx.path.name;
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object()) {
    return kube::badRequest("the object provided is unrecognized (must be of type TokenRequest)")
        .toResponse();
  }
  nlohmann::json spec = body.value("spec", nlohmann::json::object());
  if (!spec.is_object()) {
    spec = nlohmann::json::object();
  }
  int64_t seconds = 3600;
  if (spec.contains("expirationSeconds") && spec["expirationSeconds"].is_number_integer()) {
    seconds = spec["expirationSeconds"].get<int64_t>();
  }
  if (seconds < kMinExpirationSeconds) {
    return kube::invalid("TokenRequest", "authentication.k8s.io", name,
                         {kube::fieldCause("FieldValueInvalid", "spec.expirationSeconds",
                                           absl::StrCat(seconds,
                                                        ": may not specify a duration less "
                                                        "than 10 minutes"))})
        .toResponse();
  }
  if (seconds > kMaxExpirationSeconds) {
    return kube::invalid("TokenRequest", "authentication.k8s.io", name,
                         {kube::fieldCause("FieldValueTooLong", "spec.expirationSeconds",
                                           absl::StrCat(seconds,
                                                        ": may not specify a duration larger "
                                                        "than 2^32 seconds"))})
        .toResponse();
  }
  std::vector<std::string> audiences;
  if (spec.contains("audiences") && spec["audiences"].is_array()) {
    for (const auto& a : spec["audiences"]) {
      if (a.is_string()) {
        audiences.push_back(a.get<std::string>());
      }
    }
  }
  if (audiences.empty()) {
    audiences = options_.api_audiences;
  }
  auto token = requestServiceAccountToken(ns, name, audiences, seconds);
  if (!token.ok()) {
    return kube::notFound("serviceaccounts", "", name).toResponse();
  }
  common::SystemTime expiry = clock_->now() + std::chrono::seconds(seconds);
  return kube::jsonResponse(
      201,
      {{"kind", "TokenRequest"},
       {"apiVersion", "authentication.k8s.io/v1"},
       {"metadata", {{"name", name}, {"namespace", ns}, {"creationTimestamp", nullptr}}},
       {"spec",
        {{"audiences", audiences},
         {"expirationSeconds", seconds},
         {"boundObjectRef", spec.value("boundObjectRef", nlohmann::json())}}},
       {"status", {{"token", *token}, {"expirationTimestamp", kube::formatTime(expiry, false)}}}});
}

HttpServerResponse KubeDouble::tokenReviewEndpoint(const HttpServerRequest& request) {
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("spec") || !body["spec"].is_object()) {
    return kube::badRequest("the object provided is unrecognized (must be of type TokenReview)")
        .toResponse();
  }
  const nlohmann::json& spec = body["spec"];
  std::string token = spec.value("token", "");
  std::vector<std::string> audiences;
  if (spec.contains("audiences") && spec["audiences"].is_array()) {
    for (const auto& a : spec["audiences"]) {
      if (a.is_string()) {
        audiences.push_back(a.get<std::string>());
      }
    }
  }
  nlohmann::json status = nlohmann::json::object();
  auto info = reviewToken(token, audiences);
  if (info.ok()) {
    std::vector<std::string> wanted = audiences.empty() ? options_.api_audiences : audiences;
    std::vector<std::string> matched;
    auto parsed = vault::parseJwt(token);
    std::vector<std::string> have =
        parsed.ok() ? audiencesOf(parsed->claims) : std::vector<std::string>();
    for (const auto& a : wanted) {
      if (std::find(have.begin(), have.end(), a) != have.end()) {
        matched.push_back(a);
      }
    }
    status = {
        {"authenticated", true},
        {"user",
         {{"username",
           absl::StrCat("system:serviceaccount:", info->namespace_name, ":", info->name)},
          {"uid", info->uid},
          {"groups",
           {"system:serviceaccounts", absl::StrCat("system:serviceaccounts:", info->namespace_name),
            "system:authenticated"}}}},
        {"audiences", matched}};
  } else {
    status = {{"user", nlohmann::json::object()}, {"error", std::string(info.status().message())}};
  }
  return kube::jsonResponse(201, {{"kind", "TokenReview"},
                                  {"apiVersion", "authentication.k8s.io/v1"},
                                  {"metadata", {{"creationTimestamp", nullptr}}},
                                  {"spec", spec},
                                  {"status", status}});
}

}  // namespace secretsync::test
