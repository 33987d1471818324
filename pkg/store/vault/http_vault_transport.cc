#include "pkg/store/vault/http_vault_transport.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/http/url_escape.h"
#include "pkg/common/json_depth.h"
#include "pkg/common/secure_wipe.h"

namespace secretsync::store::vault {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

std::string trimTrailingSlashes(std::string address) {
  while (!address.empty() && address.back() == '/') {
    address.pop_back();
  }
  return address;
}

// The metrics label of a call: its template, or the first segment so "secret/data/x" and
// "secret/data/y" share one label and no secret path ever becomes one.
std::string_view pathTemplateOf(const VaultCall& call, std::string& storage) {
  if (!call.path_template.empty()) {
    return call.path_template;
  }
  const size_t slash = call.path.find('/');
  storage = call.path.substr(0, slash) + "/*";
  return storage;
}

bool isWhitespaceOnly(std::string_view body) {
  return std::all_of(body.begin(), body.end(),
                     [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); });
}

// @return "scheme://authority" of an absolute URL, lower-cased, or "" when `url` has no scheme.
// Userinfo stays part of the authority, so "https://vault:8200@evil/" is another origin.
std::string originOf(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return "";
  }
  const size_t authority_end = url.find_first_of("/?#", scheme_end + 3);
  return absl::AsciiStrToLower(common::av(url.substr(0, authority_end)));
}

// The credentials `call` sends: its token, and every string of its body but the role name and
// role-id, identifiers our own messages name (login bodies also carry the JWT and secret-id). A
// hostile or careless server may quote them back.
std::vector<std::string> sentCredentials(const VaultCall& call) {
  // Shorter strings are not credentials, and cutting them out would garble the message.
  constexpr size_t kMinCredentialBytes = 4;
  std::vector<std::string> credentials;
  if (call.token != nullptr && !call.token->empty()) {
    credentials.emplace_back(call.token->reveal());
  }
  if (call.body.has_value() && call.body->is_object()) {
    for (const auto& [key, value] : call.body->items()) {
      if (key != "role" && key != "role_id" && value.is_string() &&
          value.get_ref<const std::string&>().size() >= kMinCredentialBytes) {
        credentials.push_back(value.get<std::string>());
      }
    }
  }
  return credentials;
}

// Cuts the credentials of `call` out of an error reply's `errors` strings, the only part of an
// error body our messages quote (vault_errors.h), before any of it is shortened or logged.
void redactQuotedCredentials(const VaultCall& call, nlohmann::json& body) {
  if (!body.is_object()) {
    return;
  }
  const auto errors = body.find("errors");
  if (errors == body.end() || !errors->is_array()) {
    return;
  }
  std::vector<std::string> credentials = sentCredentials(call);
  absl::Cleanup wipe_credentials = [&credentials] {
    for (std::string& credential : credentials) {
      common::wipeString(credential);
    }
  };
  for (nlohmann::json& entry : *errors) {
    if (!entry.is_string()) {
      continue;
    }
    std::string& text = entry.get_ref<std::string&>();
    for (const std::string& credential : credentials) {
      for (size_t at = text.find(credential); at != std::string::npos;
           at = text.find(credential, at + kRedactedCredential.size())) {
        text.replace(at, credential.size(), kRedactedCredential);
      }
    }
  }
}

}  // namespace

absl::StatusOr<nlohmann::json> parseReplyBody(std::string_view body) {
  if (isWhitespaceOnly(body)) {
    return nlohmann::json(nullptr);
  }
  if (common::jsonNestingDepth(body, kMaxReplyNesting) > kMaxReplyNesting) {
    return absl::DataLossError("reply body nests too deeply");
  }
  try {
    nlohmann::json value = nlohmann::json::parse(body, /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      return absl::DataLossError("reply body is not JSON");
    }
    return value;
  } catch (const std::exception&) {
    // allow_exceptions=false covers syntax errors; this is for anything else (allocation).
    return absl::DataLossError("reply body is not JSON");
  }
}

bool isRetryableVaultStatus(int status) {
  return status == 412 || status == 429 || (status >= 500 && status <= 599 && status != 501);
}

bool isRetryableTransportError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable;
}

std::string escapeVaultPath(std::string_view path) {
  // Go's shouldEscape(c, encodePath) keeps these sub-delimiters; Vault paths use some of them.
  return common::http::percentEncode(path, "/$&+,:;=@");
}

absl::StatusOr<common::http::HttpResponse> HttpVaultTransport::sendWithRetries(
    const VaultCall& call, const common::http::HttpRequest& request) {
  std::string template_storage;
  const std::string_view path_template = pathTemplateOf(call, template_storage);
  const int max_retries = std::max(options_.max_retries, 0);

  absl::StatusOr<common::http::HttpResponse> response;
  for (int attempt = 0;; ++attempt) {
    const common::MonotonicTime start = clock_.monotonicNow();
    response = http_.send(request);
    const nanoseconds duration = clock_.monotonicNow() - start;

    const bool retryable = response.ok() ? isRetryableVaultStatus(response->status)
                                         : isRetryableTransportError(response.status());
    const bool will_retry = retryable && attempt < max_retries;
    if (options_.observer) {
      options_.observer(VaultAttempt{
          .method = call.method,
          .path_template = path_template,
          .status = response.ok() ? response->status : 0,
          .transport_error = response.ok() ? absl::StatusCode::kOk : response.status().code(),
          .duration = duration,
          .attempt = attempt,
          .will_retry = will_retry,
      });
    }
    if (!will_retry) {
      return response;
    }
    if (!waitBeforeRetry(retryWait(attempt, response.ok() ? &*response : nullptr))) {
      return absl::CancelledError(absl::StrCat(call.method, " ", common::av(path_template),
                                               ": stopping, the retry was not sent"));
    }
  }
}

bool HttpVaultTransport::waitBeforeRetry(nanoseconds wait) const {
  if (options_.cancel == nullptr) {
    clock_.sleepFor(wait);
    return true;
  }
  // In slices, so that a stop is seen within one of them even during a 30 s Retry-After.
  constexpr nanoseconds kSlice = std::chrono::milliseconds(100);
  const common::MonotonicTime until = clock_.monotonicNow() + wait;
  for (common::MonotonicTime now = clock_.monotonicNow(); now < until;
       now = clock_.monotonicNow()) {
    if (options_.cancel->load()) return false;
    clock_.sleepFor(std::min<nanoseconds>(until - now, kSlice));
  }
  return !options_.cancel->load();
}

absl::StatusOr<std::string> HttpVaultTransport::redirectTarget(
    const common::http::HttpResponse& response) const {
  const std::optional<std::string> location = response.header("location");
  if (location->front() == '/') {
    return absl::StrCat(base_url_.substr(0, base_url_.find('/', base_url_.find("://") + 3)),
                        *location);
  }
  const bool from_https = absl::StartsWith(base_url_, "https://");
  const bool allowed_scheme = absl::StartsWith(*location, "https://") ||
                              (!from_https && absl::StartsWith(*location, "http://"));
  // The target is never named: it may carry userinfo or a query, and the reason is enough to act
  // on.
  if (!allowed_scheme) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing HTTP ", response.status, " redirect",
        from_https ? " from https to a non-https address" : " to a non-http(s) address"));
  }
  // The token (and a login's credentials in the body) would go wherever the redirect points, so
  // only the origin we were configured with may be followed; a standby of another host is named
  // by the error, and Vault's request forwarding makes such redirects rare.
  if (originOf(*location) != originOf(base_url_)) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing HTTP ", response.status,
                     " redirect to another host: the Vault token would be sent there; set the "
                     "store's address to the active node or a load balancer"));
  }
  return *location;
}

bool isRedirectStatus(int status) {
  return status == 301 || status == 302 || status == 307 || status == 308;
}

HttpVaultTransport::HttpVaultTransport(common::http::HttpClient& http, common::Clock& clock,
                                       HttpVaultTransportOptions options)
    : http_(http),
      clock_(clock),
      options_(std::move(options)),
      base_url_(trimTrailingSlashes(options_.address)) {}

std::string HttpVaultTransport::urlFor(const VaultCall& call) const {
  std::string_view path = call.path;
  while (!path.empty() && path.front() == '/') {
    path.remove_prefix(1);
  }
  std::string url = absl::StrCat(base_url_, "/v1/", escapeVaultPath(path));
  const char* separator = "?";
  for (const auto& [key, value] : call.query) {
    absl::StrAppend(&url, separator, common::http::escapeQueryComponent(key), "=",
                    common::http::escapeQueryComponent(value));
    separator = "&";
  }
  return url;
}

nanoseconds HttpVaultTransport::retryWait(int retry,
                                          const common::http::HttpResponse* response) const {
  // go-retryablehttp's RateLimitLinearJitterBackoff: Retry-After first, on 429 and 503 only.
  if (response != nullptr && (response->status == 429 || response->status == 503)) {
    if (const std::optional<std::string> header = response->header("retry-after")) {
      if (const std::optional<milliseconds> wait = common::parseRetryAfter(*header, clock_)) {
        return std::min(*wait, options_.retry_after_cap);
      }
    }
  }
  const auto min_wait = std::max(options_.min_retry_wait, milliseconds(0));
  const auto max_wait = std::max(options_.max_retry_wait, min_wait);
  const double u = options_.random ? std::clamp(options_.random(), 0.0, 1.0) : 0.0;
  const double base = static_cast<double>(min_wait.count()) +
                      u * static_cast<double>((max_wait - min_wait).count());
  const double wait_ms = base * static_cast<double>(retry + 1);
  return std::chrono::duration_cast<nanoseconds>(
      std::chrono::duration<double, std::milli>(wait_ms));
}

absl::StatusOr<VaultReply> HttpVaultTransport::call(const VaultCall& call) {
  common::http::HttpRequest request;
  // The request holds the token (a header) and, for a login, the credential (the body): zeroed on
  // every way out, so the freed buffers keep neither.
  absl::Cleanup wipe_request = [&request] {
    common::wipeString(request.body);
    for (common::http::Header& header : request.headers) {
      common::wipeString(header.second);
    }
  };
  request.method = call.method;
  request.url = urlFor(call);
  request.timeout = options_.request_timeout;
  request.cancel = options_.cancel;
  request.headers.emplace_back("X-Vault-Request", "true");
  if (call.token != nullptr && !call.token->empty()) {
    request.headers.emplace_back("X-Vault-Token", call.token->reveal());
  }
  if (call.send_namespace && !options_.vault_namespace.empty()) {
    request.headers.emplace_back("X-Vault-Namespace", options_.vault_namespace);
  }
  if (call.body.has_value()) {
    // dump() throws on strings that are not UTF-8; the body may hold secret values, so the message
    // names only the call.
    try {
      request.body = call.body->dump();
    } catch (const nlohmann::json::exception&) {
      return absl::InvalidArgumentError(absl::StrCat("vault ", call.method, " ", call.path,
                                                     ": request body is not valid UTF-8 JSON"));
    }
    request.headers.emplace_back("Content-Type", "application/json");
  }

  absl::StatusOr<common::http::HttpResponse> response = sendWithRetries(call, request);
  // A standby that cannot forward answers 307 to the active node; the official client follows one
  // redirect itself, keeping method and body, and never from https to http.
  if (response.ok() && isRedirectStatus(response->status) &&
      !response->header("location").value_or("").empty()) {
    absl::StatusOr<std::string> target = redirectTarget(*response);
    if (!target.ok()) {
      return absl::Status(
          target.status().code(),
          absl::StrCat("vault ", call.method, " ", call.path, ": ", target.status().message()));
    }
    request.url = *std::move(target);
    response = sendWithRetries(call, request);
  }

  if (!response.ok()) {
    // HttpClient's messages name the URL and the failure, never headers or bodies.
    return response.status();
  }

  VaultReply reply;
  reply.status = response->status;
  reply.headers = std::move(response->headers);
  absl::StatusOr<nlohmann::json> body = parseReplyBody(response->body);
  // The raw reply (secret values, a client_token) is not needed once parsed.
  common::wipeString(response->body);
  if (body.ok()) {
    reply.body = *std::move(body);
    if (reply.status < 200 || reply.status > 299) {
      redactQuotedCredentials(call, reply.body);
    }
  } else if (reply.status >= 200 && reply.status <= 299) {
    return absl::DataLossError(absl::StrCat("vault ", call.method, " ", call.path, ": ",
                                            body.status().message(), " (HTTP ", reply.status, ")"));
  }
  return reply;
}

}  // namespace secretsync::store::vault
