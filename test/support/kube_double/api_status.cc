#include "test/support/kube_double/api_status.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace secretsync::test::kube {

nlohmann::json ApiError::toJson() const {
  nlohmann::json out = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason}};
  nlohmann::json details = nlohmann::json::object();
  if (!name.empty()) {
    details["name"] = name;
  }
  if (!group.empty()) {
    details["group"] = group;
  }
  if (!kind.empty()) {
    details["kind"] = kind;
  }
  if (!uid.empty()) {
    details["uid"] = uid;
  }
  if (!causes.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : causes) {
      list.push_back({{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
    }
    details["causes"] = list;
  }
  if (retry_after_seconds.has_value()) {
    details["retryAfterSeconds"] = *retry_after_seconds;
  }
  if (!details.empty()) {
    out["details"] = details;
  }
  out["code"] = code;
  return out;
}

HttpServerResponse ApiError::toResponse() const {
  HttpServerResponse res = jsonResponse(code, toJson());
  if (retry_after_seconds.has_value()) {
    res.headers.emplace_back("Retry-After", std::to_string(*retry_after_seconds));
  }
  return res;
}

std::string qualifiedResource(const std::string& plural, const std::string& group) {
  return group.empty() ? plural : absl::StrCat(plural, ".", group);
}

ApiError notFound(const std::string& plural, const std::string& group, const std::string& name) {
  return ApiError{
      .code = 404,
      .reason = "NotFound",
      .message = absl::StrCat(qualifiedResource(plural, group), " \"", name, "\" not found"),
      .name = name,
      .group = group,
      .kind = plural};
}

ApiError alreadyExists(const std::string& plural, const std::string& group,
                       const std::string& name) {
  return ApiError{
      .code = 409,
      .reason = "AlreadyExists",
      .message = absl::StrCat(qualifiedResource(plural, group), " \"", name, "\" already exists"),
      .name = name,
      .group = group,
      .kind = plural};
}

ApiError conflict(const std::string& plural, const std::string& group, const std::string& name,
                  const std::string& why) {
  return ApiError{
      .code = 409,
      .reason = "Conflict",
      .message = absl::StrCat("Operation cannot be fulfilled on ", qualifiedResource(plural, group),
                              " \"", name, "\": ", why),
      .name = name,
      .group = group,
      .kind = plural};
}

ApiError staleConflict(const std::string& plural, const std::string& group,
                       const std::string& name) {
  return conflict(plural, group, name,
                  "the object has been modified; please apply your changes to the latest version "
                  "and try again");
}

ApiError invalid(const std::string& kind, const std::string& group, const std::string& name,
                 std::vector<StatusCause> causes) {
  std::vector<std::string> texts;
  for (const auto& c : causes) {
    texts.push_back(c.message);
  }
  std::string joined =
      texts.size() == 1 ? texts[0] : absl::StrCat("[", absl::StrJoin(texts, ", "), "]");
  return ApiError{.code = 422,
                  .reason = "Invalid",
                  .message = absl::StrCat(kind, " \"", name, "\" is invalid: ", joined),
                  .name = name,
                  .group = group,
                  .kind = kind,
                  .causes = std::move(causes)};
}

ApiError badRequest(const std::string& message) {
  return ApiError{.code = 400, .reason = "BadRequest", .message = message};
}

ApiError unauthorized() {
  return ApiError{.code = 401, .reason = "Unauthorized", .message = "Unauthorized"};
}

ApiError methodNotAllowed(const std::string& message) {
  return ApiError{.code = 405, .reason = "MethodNotAllowed", .message = message};
}

ApiError unsupportedMediaType(const std::string& content_type) {
  return ApiError{
      .code = 415,
      .reason = "UnsupportedMediaType",
      .message = absl::StrCat("the body of the request was in an unknown format - accepted "
                              "media types include: application/json-patch+json, "
                              "application/merge-patch+json, application/apply-patch+yaml; got ",
                              content_type)};
}

ApiError expired(const std::string& message) {
  return ApiError{.code = 410, .reason = "Expired", .message = message};
}

ApiError internalError(const std::string& message) {
  return ApiError{.code = 500,
                  .reason = "InternalError",
                  .message = absl::StrCat("Internal error occurred: ", message)};
}

StatusCause fieldCause(const std::string& reason, const std::string& field,
                       const std::string& detail) {
  std::string label = "Invalid value";
  if (reason == "FieldValueRequired") {
    label = "Required value";
  } else if (reason == "FieldValueForbidden") {
    label = "Forbidden";
  } else if (reason == "FieldValueTooLong") {
    label = "Too long";
  } else if (reason == "FieldValueNotSupported") {
    label = "Unsupported value";
  }
  return StatusCause{reason, absl::StrCat(field, ": ", label, ": ", detail), field};
}

HttpServerResponse pageNotFound() {
  HttpServerResponse res;
  res.status = 404;
  res.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                 {"X-Content-Type-Options", "nosniff"}};
  res.body = "404 page not found\n";
  return res;
}

HttpServerResponse jsonResponse(int status, const nlohmann::json& body) {
  HttpServerResponse res;
  res.status = status;
  res.headers = {{"Content-Type", "application/json"}};
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.body.push_back('\n');
  return res;
}

nlohmann::json successStatus(const std::string& name, const std::string& group,
                             const std::string& plural, const std::string& uid) {
  nlohmann::json details = {{"name", name}, {"kind", plural}, {"uid", uid}};
  if (!group.empty()) {
    details["group"] = group;
  }
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", nlohmann::json::object()},
          {"status", "Success"},
          {"details", details}};
}

}  // namespace secretsync::test::kube
