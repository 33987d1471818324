#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test/support/http_server.h"

namespace secretsync::test::kube {

// One entry of Status.details.causes.
struct StatusCause {
  std::string reason;  // "FieldValueInvalid", "FieldManagerConflict", ...
  std::string message;
  std::string field;
};

// A Kubernetes `Status` failure (reference §0.4) before it is put on the wire.
struct ApiError {
  int code = 500;
  std::string reason;
  std::string message;
  // details: emitted only when at least one of them is set.
  std::string name;
  std::string group;
  std::string kind;
  std::string uid;
  std::vector<StatusCause> causes;
  std::optional<int> retry_after_seconds;

  nlohmann::json toJson() const;
  HttpServerResponse toResponse() const;
};

// The resource name as it appears in messages: "secrets" or "externalsecrets.external-secrets.io".
std::string qualifiedResource(const std::string& plural, const std::string& group);

// The constructors of apimachinery's api/errors, with their exact message formats.
ApiError notFound(const std::string& plural, const std::string& group, const std::string& name);
ApiError alreadyExists(const std::string& plural, const std::string& group,
                       const std::string& name);
ApiError conflict(const std::string& plural, const std::string& group, const std::string& name,
                  const std::string& why);
// The optimistic-concurrency conflict ("the object has been modified; ...").
ApiError staleConflict(const std::string& plural, const std::string& group,
                       const std::string& name);
// 422 Invalid: details.kind is the Kind; message "<Kind> \"name\" is invalid: <causes>".
ApiError invalid(const std::string& kind, const std::string& group, const std::string& name,
                 std::vector<StatusCause> causes);
ApiError badRequest(const std::string& message);
ApiError unauthorized();
ApiError methodNotAllowed(const std::string& message);
ApiError unsupportedMediaType(const std::string& content_type);
ApiError expired(const std::string& message);
ApiError internalError(const std::string& message);

// A field error cause; `label` is "Invalid value", "Required value", "Forbidden", "Too long".
StatusCause fieldCause(const std::string& reason, const std::string& field,
                       const std::string& detail);

// The plain-text `404 page not found` of Go's http.NotFound (reference §0.5).
HttpServerResponse pageNotFound();
// A JSON reply with `status`.
HttpServerResponse jsonResponse(int status, const nlohmann::json& body);
// "Success" Status (the reply to a completed DELETE).
nlohmann::json successStatus(const std::string& name, const std::string& group,
                             const std::string& plural, const std::string& uid);

}  // namespace secretsync::test::kube
