#include "pkg/kube/rest_kube_client.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/http/url_escape.h"
#include "pkg/common/json_depth.h"
#include "pkg/common/json_fields.h"
#include "pkg/common/status_macros.h"
#include "pkg/common/token_file.h"
#include "pkg/common/utf8.h"
#include "pkg/kube/api_error.h"
#include "pkg/kube/watch_decoder.h"

namespace secretsync::kube {

using common::av;
using common::http::HttpRequest;
using common::http::HttpResponse;
using nlohmann::json;

// One API request as the retry loop sees it.
struct RestKubeClient::Call {
  std::string_view verb;
  std::string method;
  // Path and query, after the server's base URL.
  std::string target;
  std::string body;
  std::string content_type;
  std::string group;
  std::string resource_label;
  // "get secrets app/db": prefixes every error.
  std::string what;
  // Whether a 5xx or a transport error may be retried (see the class comment).
  bool idempotent = false;
  // Secret values the request carries, to be cut out of error messages.
  std::vector<std::string> redact;
};

// The bearer token: fixed, or read from a file that rotates. The file is looked at again after
// `interval` (or at once when forced after a 401); TokenFile re-reads it only when it changed.
//
// Thread-safety: token() may be called from many threads at once.
class RestKubeClient::TokenSource {
 public:
  TokenSource(common::SecretString fixed, std::string file, common::Clock& clock,
              std::chrono::seconds interval)
      : fixed_(std::move(fixed)), clock_(clock), interval_(interval) {
    if (!file.empty()) file_ = std::make_unique<common::TokenFile>(std::move(file), "token");
  }

  bool fromFile() const { return file_ != nullptr; }

  // @return the token to send ("" = none).
  absl::StatusOr<common::SecretString> token(bool force) {
    if (file_ == nullptr) return fixed_;
    std::lock_guard lock(mu_);
    const common::MonotonicTime now = clock_.monotonicNow();
    if (force || !read_at_.has_value() || now - *read_at_ >= interval_) {
      absl::StatusOr<common::SecretString> read = file_->read();
      if (!read.ok()) {
        // Keep using the last good token: a rotation caught mid-swap should not fail requests.
        if (cached_.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("kube token file: ", read.status().message()));
        }
      } else {
        cached_ = *std::move(read);
        read_at_ = now;
      }
    }
    return cached_;
  }

 private:
  const common::SecretString fixed_;
  std::unique_ptr<common::TokenFile> file_;
  common::Clock& clock_;
  const std::chrono::seconds interval_;
  std::mutex mu_;
  std::optional<common::MonotonicTime> read_at_ ABSL_GUARDED_BY(mu_);
  common::SecretString cached_ ABSL_GUARDED_BY(mu_);
};

namespace {

constexpr char kJson[] = "application/json";
// Values shorter than this are not cut out of messages: they would mangle the text and are no
// secret worth the name.
constexpr size_t kMinRedactedValue = 4;

std::string resourceLabel(const Resource& resource, std::string_view subresource) {
  return subresource.empty() ? resource.plural
                             : absl::StrCat(resource.plural, "/", av(subresource));
}

// "secrets app/db", "externalsecrets.external-secrets.io/status app/x", "namespaces app".
std::string describe(std::string_view verb, const Resource& resource, std::string_view ns,
                     std::string_view name, std::string_view subresource = {}) {
  std::string out = absl::StrCat(av(verb), " ", resource.plural);
  if (!resource.group.empty()) absl::StrAppend(&out, ".", resource.group);
  if (!subresource.empty()) absl::StrAppend(&out, "/", av(subresource));
  // Names are checked after this is built (checkSegment): one with a NUL or a newline must not
  // carry it into the message.
  if (!resource.namespaced || ns.empty()) {
    if (!name.empty()) absl::StrAppend(&out, " ", common::flattenControls(name));
    if (resource.namespaced && name.empty()) absl::StrAppend(&out, " in all namespaces");
  } else {
    absl::StrAppend(&out, " ", common::flattenControls(ns), name.empty() ? "" : "/",
                    common::flattenControls(name));
  }
  return out;
}

// A name or namespace goes into the URL path as one segment.
absl::Status checkSegment(std::string_view field, std::string_view value, bool required) {
  if (value.empty()) {
    return required ? absl::InvalidArgumentError(absl::StrCat(av(field), " is empty"))
                    : absl::OkStatus();
  }
  if (value == "." || value == ".." || value.size() > 253 ||
      value.find_first_of(std::string_view("/%?#\\ \t\r\n\0", 11)) != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(av(field), " is not a valid object name: it must be one path segment"));
  }
  return absl::OkStatus();
}

void appendQuery(std::string& target, std::string_view key, std::string_view value) {
  absl::StrAppend(&target, target.find('?') == std::string::npos ? "?" : "&",
                  common::http::escapeQueryComponent(key), "=",
                  common::http::escapeQueryComponent(value));
}

void collectStrings(const json& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() >= kMinRedactedValue) out.push_back(text);
    std::string decoded;
    // data values are base64: a message might quote the decoded bytes.
    if (absl::Base64Unescape(text, &decoded) && decoded.size() >= kMinRedactedValue) {
      out.push_back(std::move(decoded));
    }
  } else if (value.is_object() || value.is_array()) {
    for (const auto& item : value) collectStrings(item, out);
  }
}

// The values a request writes into a Secret's data or stringData.
std::vector<std::string> secretValues(const Resource& resource, const json& body) {
  std::vector<std::string> out;
  if (!resource.group.empty() || resource.plural != "secrets") return out;
  if (body.is_object()) {
    for (const char* key : {"data", "stringData"}) {
      if (const auto it = body.find(key); it != body.end()) collectStrings(*it, out);
    }
  } else if (body.is_array()) {
    // A JSON patch: the values of operations on /data or /stringData.
    for (const auto& op : body) {
      if (!op.is_object()) continue;
      const auto path = op.find("path");
      const auto value = op.find("value");
      if (path == op.end() || !path->is_string() || value == op.end()) continue;
      const std::string& p = path->get_ref<const std::string&>();
      if (absl::StartsWith(p, "/data") || absl::StartsWith(p, "/stringData")) {
        collectStrings(*value, out);
      }
    }
  }
  // Longest first, so a value containing another is cut whole.
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

// Cuts `values` and the bearer `token` out of an error message a server sent back.
absl::Status redacted(const absl::Status& status, const std::vector<std::string>& values,
                      const common::SecretString& token) {
  if (status.ok()) return status;
  std::string message(status.message());
  bool changed = false;
  const auto cut = [&](std::string_view value) {
    for (size_t pos; (pos = message.find(value)) != std::string::npos;) {
      message.replace(pos, value.size(), "[redacted]");
      changed = true;
    }
  };
  for (const std::string& value : values) cut(value);
  if (token.reveal().size() >= kMinRedactedValue) cut(token.reveal());
  if (!changed) return status;
  if (const std::optional<ApiErrorInfo> info = apiErrorInfo(status)) {
    return apiError(*info, message);
  }
  return absl::Status(status.code(), message);
}

absl::Status prefixed(const absl::Status& status, std::string_view what) {
  return absl::Status(status.code(), absl::StrCat(av(what), ": ", status.message()));
}

std::string_view contentTypeFor(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
  }
  return "application/merge-patch+json";
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Starts a call on the object `name` of `resource` (its `subresource` when given), checking
// `name` as `name_field`; with `name_field` empty the call goes to the collection and `name`
// only labels messages. The namespace is required for a namespaced kind but by list and watch.
absl::StatusOr<RestKubeClient::Call> startCall(std::string_view verb, const char* method,
                                               const Resource& resource, std::string_view ns,
                                               std::string_view name, std::string_view name_field,
                                               std::string_view subresource = {}) {
  RestKubeClient::Call call;
  call.verb = verb;
  call.method = method;
  call.group = resource.group;
  call.what = describe(verb, resource, ns, name, subresource);
  const bool namespace_required = resource.namespaced && verb != "list" && verb != "watch";
  RETURN_IF_ERROR(prefixed(checkSegment("namespace", ns, namespace_required), call.what));
  if (!name_field.empty()) {
    RETURN_IF_ERROR(prefixed(checkSegment(name_field, name, true), call.what));
  }
  RETURN_IF_ERROR(prefixed(checkSegment("subresource", subresource, false), call.what));
  call.target = resource.path(ns, name_field.empty() ? std::string_view() : name, subresource);
  call.resource_label = resourceLabel(resource, subresource);
  return call;
}

void setJsonBody(RestKubeClient::Call& call, const Resource& resource, const json& body,
                 std::string_view content_type) {
  call.body = dump(body);
  call.content_type = std::string(content_type);
  call.redact = secretValues(resource, body);
}

// The `code` of a Status object from an ERROR event (500 when it has none).
int statusCode(const json& status) {
  const auto code = status.find("code");
  if (code != status.end() && code->is_number_integer()) {
    const int64_t value = code->get<int64_t>();
    if (value >= 100 && value <= 599) return static_cast<int>(value);
  }
  return 500;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RestKubeClient>> RestKubeClient::create(
    KubeConfig config, common::http::HttpClient* http, RestKubeClientOptions options) {
  if (config.server.empty()) {
    return absl::InvalidArgumentError("kube client: the configuration has no server URL");
  }
  while (absl::EndsWith(config.server, "/")) config.server.pop_back();
  common::http::HttpClientPtr owned;
  if (http == nullptr) {
    common::http::CurlHttpClientOptions http_options;
    http_options.tls = config.tls;
    http_options.connect_timeout = options.connect_timeout;
    http_options.request_timeout = options.request_timeout;
    absl::StatusOr<common::http::HttpClientPtr> made =
        common::http::newCurlHttpClient(http_options);
    if (!made.ok())
      return prefixed(made.status(), absl::StrCat("kube client (", config.source, ")"));
    owned = *std::move(made);
    http = owned.get();
  }
  common::Clock& clock = options.clock != nullptr ? *options.clock : common::realClock();
  auto token = std::make_unique<TokenSource>(config.token, config.token_file, clock,
                                             options.token_reread_interval);
  if (token->fromFile()) {
    // Fail at start-up, not at the first request, when the file is not there.
    RETURN_IF_ERROR(token->token(/*force=*/true).status());
  }
  return std::unique_ptr<RestKubeClient>(new RestKubeClient(
      std::move(config), http, std::move(owned), std::move(options), std::move(token)));
}

RestKubeClient::RestKubeClient(KubeConfig config, common::http::HttpClient* http,
                               common::http::HttpClientPtr owned_http,
                               RestKubeClientOptions options, std::unique_ptr<TokenSource> token)
    : config_(std::move(config)),
      owned_http_(std::move(owned_http)),
      http_(http),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : common::realClock()),
      token_(std::move(token)) {}

RestKubeClient::~RestKubeClient() = default;

std::string RestKubeClient::fieldManager(const WriteOptions& options) const {
  return options.field_manager.empty() ? options_.field_manager : options.field_manager;
}

HttpRequest RestKubeClient::buildRequest(const Call& call,
                                         const common::SecretString& token) const {
  HttpRequest request;
  request.method = call.method;
  request.url = config_.server + call.target;
  request.body = call.body;
  request.timeout = options_.request_timeout;
  request.headers = {{"Accept", kJson}, {"User-Agent", options_.user_agent}};
  if (!call.content_type.empty()) request.headers.emplace_back("Content-Type", call.content_type);
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token.reveal());
  return request;
}

void RestKubeClient::report(const Call& call, int code, absl::StatusCode transport_error,
                            std::chrono::nanoseconds duration, int attempt, bool will_retry) const {
  if (!options_.observer) return;
  options_.observer(KubeRequestInfo{.verb = call.verb,
                                    .group = call.group,
                                    .resource = call.resource_label,
                                    .code = code,
                                    .transport_error = transport_error,
                                    .duration = duration,
                                    .attempt = attempt,
                                    .will_retry = will_retry});
}

absl::StatusOr<HttpResponse> RestKubeClient::execute(const Call& call) {
  common::Backoff backoff(options_.retry_backoff, options_.random);
  bool reread_token = false;
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(const common::SecretString token, token_->token(/*force=*/false));
    const common::MonotonicTime start = clock_.monotonicNow();
    absl::StatusOr<HttpResponse> response = http_->send(buildRequest(call, token));
    const auto duration = clock_.monotonicNow() - start;

    if (response.ok() && response->status == 401 && token_->fromFile() && !reread_token) {
      // The kubelet may have rotated the token since it was last read: read it again and, if it
      // changed, send once more (not counted as a retry).
      reread_token = true;
      ASSIGN_OR_RETURN(const common::SecretString fresh, token_->token(/*force=*/true));
      if (!(fresh == token)) {
        report(call, 401, absl::StatusCode::kOk, duration, attempt, true);
        --attempt;
        continue;
      }
    }
    if (response.ok() && response->status >= 200 && response->status <= 299) {
      report(call, response->status, absl::StatusCode::kOk, duration, attempt, false);
      return response;
    }

    bool retryable = false;
    absl::Status error;
    std::optional<std::chrono::milliseconds> retry_after;
    if (response.ok()) {
      const int status = response->status;
      retryable = status == 429 || (call.idempotent && status >= 500 && status != 501);
      const std::string retry_header = response->header("retry-after").value_or("");
      error = apiErrorFromReply(status, response->body, retry_header, call.what);
      if (!retry_header.empty()) {
        retry_after = common::parseRetryAfter(retry_header, clock_);
      } else if (const auto info = apiErrorInfo(error); info && info->retry_after) {
        retry_after = *info->retry_after;
      }
    } else {
      retryable = call.idempotent && (absl::IsUnavailable(response.status()) ||
                                      absl::IsDeadlineExceeded(response.status()));
      error = prefixed(response.status(), call.what);
    }
    const bool will_retry = retryable && attempt < options_.max_retries;
    report(call, response.ok() ? response->status : 0,
           response.ok() ? absl::StatusCode::kOk : response.status().code(), duration, attempt,
           will_retry);
    if (!will_retry) return redacted(error, call.redact, token);

    std::chrono::milliseconds wait = backoff.next();
    if (retry_after.has_value()) {
      // The server's wish, capped, plus up to 10 % so clients told the same do not return at once.
      const std::chrono::milliseconds capped = std::min(*retry_after, options_.retry_after_cap);
      wait = capped + std::chrono::milliseconds(static_cast<int64_t>(
                          static_cast<double>(capped.count()) * 0.1 * options_.random()));
    }
    clock_.sleepFor(wait);
  }
}

absl::StatusOr<json> RestKubeClient::executeJson(const Call& call) {
  ASSIGN_OR_RETURN(const HttpResponse response, execute(call));
  if (common::jsonNestingDepth(response.body, kMaxObjectNesting) > kMaxObjectNesting) {
    return absl::DataLossError(absl::StrCat(call.what, ": the reply (HTTP ", response.status,
                                            ") nests deeper than ", kMaxObjectNesting, " levels"));
  }
  json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    // Never quote the body: it may be a Secret.
    return absl::DataLossError(
        absl::StrCat(call.what, ": the reply (HTTP ", response.status, ") is not a JSON object"));
  }
  return parsed;
}

absl::StatusOr<json> RestKubeClient::get(const Resource& resource, std::string_view namespace_name,
                                         std::string_view name) {
  ASSIGN_OR_RETURN(Call call, startCall("get", "GET", resource, namespace_name, name, "name"));
  call.idempotent = true;
  return executeJson(call);
}

absl::StatusOr<ObjectList> RestKubeClient::list(const Resource& resource,
                                                std::string_view namespace_name,
                                                const ListOptions& options) {
  ASSIGN_OR_RETURN(Call call, startCall("list", "GET", resource, namespace_name, "", ""));
  if (!options.label_selector.empty()) {
    appendQuery(call.target, "labelSelector", options.label_selector);
  }
  if (!options.field_selector.empty()) {
    appendQuery(call.target, "fieldSelector", options.field_selector);
  }
  if (options.limit > 0) appendQuery(call.target, "limit", absl::StrCat(options.limit));
  if (!options.continue_token.empty()) {
    appendQuery(call.target, "continue", options.continue_token);
  }
  if (!options.resource_version.empty()) {
    appendQuery(call.target, "resourceVersion", options.resource_version);
  }
  call.idempotent = true;
  ASSIGN_OR_RETURN(json reply, executeJson(call));

  ObjectList out;
  out.resource_version = common::metadataString(reply, "resourceVersion");
  out.continue_token = common::metadataString(reply, "continue");
  auto items = reply.find("items");
  if (items == reply.end() || items->is_null()) return out;  // an empty list may say null
  if (!items->is_array()) {
    return absl::DataLossError(absl::StrCat(call.what, ": the reply's items is not a list"));
  }
  out.items.reserve(items->size());
  for (json& item : *items) {
    if (!item.is_object()) {
      return absl::DataLossError(
          absl::StrCat(call.what, ": an item of the reply is not an object"));
    }
    out.items.push_back(std::move(item));
  }
  return out;
}

absl::StatusOr<json> RestKubeClient::create(const Resource& resource,
                                            std::string_view namespace_name, const json& object,
                                            const WriteOptions& options) {
  std::string name = common::metadataString(object, "name");
  if (name.empty()) name = common::metadataString(object, "generateName") + "*";
  // The name only labels messages: a create goes to the collection.
  ASSIGN_OR_RETURN(Call call, startCall("create", "POST", resource, namespace_name, name, ""));
  if (!object.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(call.what, ": the object is not a JSON object"));
  }
  appendQuery(call.target, "fieldManager", fieldManager(options));
  setJsonBody(call, resource, object, kJson);
  return executeJson(call);
}

absl::StatusOr<json> RestKubeClient::update(const Resource& resource,
                                            std::string_view namespace_name, const json& object,
                                            const WriteOptions& options) {
  ASSIGN_OR_RETURN(Call call, startCall("update", "PUT", resource, namespace_name,
                                        common::metadataString(object, "name"), "metadata.name",
                                        options.subresource));
  appendQuery(call.target, "fieldManager", fieldManager(options));
  setJsonBody(call, resource, object, kJson);
  // With a resourceVersion a replay of a PUT that did succeed gets 409, never a blind overwrite.
  call.idempotent = !common::metadataString(object, "resourceVersion").empty();
  return executeJson(call);
}

absl::StatusOr<json> RestKubeClient::patch(const Resource& resource,
                                           std::string_view namespace_name, std::string_view name,
                                           PatchType type, const json& patch,
                                           const WriteOptions& options) {
  ASSIGN_OR_RETURN(Call call, startCall("patch", "PATCH", resource, namespace_name, name, "name",
                                        options.subresource));
  if (options.force) {
    return absl::InvalidArgumentError(
        absl::StrCat(call.what, ": force is only allowed with server-side apply"));
  }
  appendQuery(call.target, "fieldManager", fieldManager(options));
  setJsonBody(call, resource, patch, contentTypeFor(type));
  call.idempotent = type == PatchType::kMerge;
  return executeJson(call);
}

absl::StatusOr<json> RestKubeClient::apply(const Resource& resource,
                                           std::string_view namespace_name, const json& object,
                                           const WriteOptions& options) {
  ASSIGN_OR_RETURN(Call call, startCall("apply", "PATCH", resource, namespace_name,
                                        common::metadataString(object, "name"), "metadata.name",
                                        options.subresource));
  appendQuery(call.target, "fieldManager", fieldManager(options));
  if (options.force) appendQuery(call.target, "force", "true");
  // JSON is YAML: the apply media type takes it as it is.
  setJsonBody(call, resource, object, "application/apply-patch+yaml");
  call.idempotent = true;
  return executeJson(call);
}

absl::Status RestKubeClient::remove(const Resource& resource, std::string_view namespace_name,
                                    std::string_view name, const DeleteOptions& options) {
  ASSIGN_OR_RETURN(Call call,
                   startCall("delete", "DELETE", resource, namespace_name, name, "name"));
  json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (!options.uid.empty()) body["preconditions"]["uid"] = options.uid;
  if (!options.resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.resource_version;
  }
  if (body.size() > 2) setJsonBody(call, resource, body, kJson);
  // A precondition pins the incarnation: a replay cannot delete an object created meanwhile.
  call.idempotent = !options.uid.empty() || !options.resource_version.empty();
  return execute(call).status();
}

absl::StatusOr<ServiceAccountToken> RestKubeClient::requestToken(
    std::string_view namespace_name, std::string_view service_account,
    const std::vector<std::string>& audiences, std::chrono::seconds expiration) {
  const Resource resource = resources::serviceAccounts();
  ASSIGN_OR_RETURN(Call call, startCall("create", "POST", resource, namespace_name, service_account,
                                        "service account", "token"));
  json spec = json::object();
  if (!audiences.empty()) spec["audiences"] = audiences;
  if (expiration.count() > 0) spec["expirationSeconds"] = expiration.count();
  setJsonBody(call, resource,
              {{"apiVersion", "authentication.k8s.io/v1"},
               {"kind", "TokenRequest"},
               {"spec", std::move(spec)}},
              kJson);
  // Minting a second token changes nothing on the server.
  call.idempotent = true;
  ASSIGN_OR_RETURN(const json reply, executeJson(call));

  const auto status = reply.find("status");
  if (status == reply.end() || !status->is_object()) {
    return absl::DataLossError(absl::StrCat(call.what, ": the reply has no status"));
  }
  const auto token = status->find("token");
  const auto expires = status->find("expirationTimestamp");
  if (token == status->end() || !token->is_string() ||
      token->get_ref<const std::string&>().empty()) {
    return absl::DataLossError(absl::StrCat(call.what, ": the reply has no status.token"));
  }
  absl::Time when;
  std::string parse_error;
  if (expires == status->end() || !expires->is_string() ||
      !absl::ParseTime(absl::RFC3339_full, expires->get<std::string>(), &when, &parse_error)) {
    return absl::DataLossError(absl::StrCat(
        call.what, ": the reply's status.expirationTimestamp is not an RFC 3339 time"));
  }
  ServiceAccountToken out;
  out.token = token->get<std::string>();
  out.expiration = absl::ToChronoTime(when);
  return out;
}

absl::Status RestKubeClient::watch(const Resource& resource, std::string_view namespace_name,
                                   const WatchOptions& options, const WatchHandler& handler) {
  ASSIGN_OR_RETURN(Call call, startCall("watch", "GET", resource, namespace_name, "", ""));
  appendQuery(call.target, "watch", "true");
  if (!options.resource_version.empty()) {
    appendQuery(call.target, "resourceVersion", options.resource_version);
  }
  if (options.allow_bookmarks) appendQuery(call.target, "allowWatchBookmarks", "true");
  if (options.timeout.count() > 0) {
    appendQuery(call.target, "timeoutSeconds", absl::StrCat(options.timeout.count()));
  }
  if (!options.label_selector.empty()) {
    appendQuery(call.target, "labelSelector", options.label_selector);
  }
  if (!options.field_selector.empty()) {
    appendQuery(call.target, "fieldSelector", options.field_selector);
  }
  const auto stopped = [&] { return options.stop != nullptr && options.stop->load(); };

  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(const common::SecretString token, token_->token(/*force=*/attempt > 0));
    HttpRequest request = buildRequest(call, token);
    request.timeout = options.timeout.count() > 0
                          ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                options.timeout + options_.watch_grace)
                          : std::chrono::milliseconds(0);

    WatchDecoder decoder;
    absl::Status stream_error;
    std::optional<json> error_status;
    bool handler_stopped = false;
    const auto on_body = [&](std::string_view chunk) {
      absl::StatusOr<bool> more = decoder.feed(chunk, [&](WatchEvent&& event) {
        const bool is_error = event.type == WatchEvent::Type::kError;
        if (is_error) error_status = event.object;
        if (!handler(event)) {
          handler_stopped = true;
          return false;
        }
        // The server ends the stream after an ERROR.
        return !is_error;
      });
      if (!more.ok()) {
        stream_error = more.status();
        return false;
      }
      return *more;
    };
    const common::MonotonicTime start = clock_.monotonicNow();
    absl::StatusOr<HttpResponse> response = http_->sendStreaming(request, on_body, options.stop);
    const auto duration = clock_.monotonicNow() - start;
    // A 401 with a token file: the kubelet may have rotated it; re-read it and watch once more.
    const bool reread_token =
        response.ok() && response->status == 401 && attempt == 0 && token_->fromFile();
    report(call, response.ok() ? response->status : 0,
           response.ok() ? absl::StatusCode::kOk : response.status().code(), duration, attempt,
           reread_token);
    if (reread_token) continue;
    if (!response.ok()) {
      if (stopped()) return absl::OkStatus();
      return prefixed(response.status(), call.what);
    }
    if (response->status < 200 || response->status > 299) {
      return redacted(apiErrorFromReply(response->status, response->body,
                                        response->header("retry-after").value_or(""), call.what),
                      {}, token);
    }
    if (!stream_error.ok()) return prefixed(stream_error, call.what);
    if (error_status.has_value()) {
      return redacted(
          apiErrorFromReply(statusCode(*error_status), dump(*error_status), "", call.what), {},
          token);
    }
    if (handler_stopped || stopped()) return absl::OkStatus();
    if (absl::Status end = decoder.finish(); !end.ok()) {
      // A stream cut mid-event is a broken connection: worth watching again.
      return absl::UnavailableError(absl::StrCat(call.what, ": ", end.message()));
    }
    return absl::OkStatus();
  }
}

}  // namespace secretsync::kube
