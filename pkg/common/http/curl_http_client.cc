#include "pkg/common/http/curl_http_client.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/http/curl_handles.h"
#include "pkg/common/log.h"

namespace secretsync::common::http {
namespace {

// ---------------------------------------------------------------------------------------------
// Small string helpers. (Debian's Abseil has its own absl::string_view, which std::string_view
// does not convert to, so absl::StrCat and friends are avoided on std::string_view.)

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool hasPrefixIgnoreCase(std::string_view s, std::string_view prefix) {
  return absl::StartsWithIgnoreCase(av(s), av(prefix));
}

// RFC 9110 token characters: what a method or header name may consist of.
bool isToken(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  for (const char c : s) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && kSpecials.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// A header value may not smuggle in another header or end the header block.
bool isSafeHeaderValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The URL as error messages may show it: no query or fragment (they can carry tokens, e.g.
// ?wrap_token=) and no user:password@.
std::string urlForMessages(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return std::string(url);
  }
  const size_t authority_begin = scheme_end + 3;
  const size_t authority_end = url.find('/', authority_begin);
  const std::string_view authority = url.substr(
      authority_begin, authority_end == std::string_view::npos ? std::string_view::npos
                                                               : authority_end - authority_begin);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) {
    return std::string(url);
  }
  std::string out(url.substr(0, authority_begin));
  out.append(url.substr(authority_begin + at + 1));
  return out;
}

// Whether OpenSSL's error text (as libcurl passes it on) is a peer's certificate-related alert,
// e.g. "tlsv13 alert certificate required" or "sslv3 alert bad certificate".
bool isCertificateAlert(std::string_view detail) {
  static constexpr std::string_view kAlerts[] = {
      "alert certificate required",   "alert bad certificate",     "alert unknown ca",
      "alert certificate unknown",    "alert certificate expired", "alert certificate revoked",
      "alert unsupported certificate"};
  for (const std::string_view alert : kAlerts) {
    if (detail.find(alert) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The one place where libcurl results become Status codes (contract in http_client.h).

absl::Status transportError(CURLcode code, bool response_too_large, std::string_view method,
                            std::string_view url, const char* error_buffer) {
  std::string detail = error_buffer != nullptr && error_buffer[0] != '\0'
                           ? std::string(error_buffer)
                           : std::string(curl_easy_strerror(code));
  // curl's texts name hosts and ports, not queries; scrub anyway in case a future version echoes
  // the URL back, since a query may hold a token.
  const size_t query_begin = url.find_first_of("?#");
  if (query_begin != std::string_view::npos && query_begin + 1 < url.size()) {
    const std::string query(url.substr(query_begin + 1));
    for (size_t pos; (pos = detail.find(query)) != std::string::npos;) {
      detail.replace(pos, query.size(), "...");
    }
  }
  std::string message = std::string(method) + " " + urlForMessages(url) + ": " + detail +
                        " (curl error " + std::to_string(static_cast<int>(code)) + ")";

  if (response_too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return absl::ResourceExhaustedError(message + ": response larger than the configured limit");
  }
  // A server that refuses our client certificate says so with a TLS alert, which libcurl reports
  // as a handshake error (TLS 1.2) or, since TLS 1.3 sends it after the handshake, a read error.
  // Retrying cannot help: it is configuration.
  if ((code == CURLE_SSL_CONNECT_ERROR || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR) &&
      isCertificateAlert(detail)) {
    return absl::FailedPreconditionError(message);
  }
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PROXY:
    case CURLE_AGAIN:
    // Other than a certificate alert (above), a handshake cut short is usually a peer restarting
    // or an overloaded load balancer.
    case CURLE_SSL_CONNECT_ERROR:
      return absl::UnavailableError(message);
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(message);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
      return absl::FailedPreconditionError(message);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_BAD_CONTENT_ENCODING:
      return absl::InvalidArgumentError(message);
    case CURLE_OUT_OF_MEMORY:
      return absl::ResourceExhaustedError(message);
    case CURLE_ABORTED_BY_CALLBACK:
      return absl::CancelledError(message);
    default:
      return absl::InternalError(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Transfer callbacks.

int onProgress(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

// What the callbacks of one transfer write into; lives on send()'s stack.
struct Transfer {
  HttpResponse response;
  uint64_t max_bytes = 0;
  bool too_large = false;
};

size_t onBody(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* transfer = static_cast<Transfer*>(userdata);
  const size_t n = size * nmemb;
  if (transfer->response.body.size() + n > transfer->max_bytes) {
    transfer->too_large = true;
    // Any count other than n aborts the transfer with CURLE_WRITE_ERROR.
    return n == 0 ? 1 : 0;
  }
  transfer->response.body.append(data, n);
  return n;
}

// A streamed transfer: 2xx bodies go to the caller's handler, other bodies are kept whole (they
// are error documents) within the size limit.
struct StreamTransfer {
  Transfer transfer;
  CURL* curl = nullptr;
  const HttpClient::BodyChunkHandler* on_body = nullptr;
  long status = 0;
  // The handler returned false: the transfer was ended on purpose.
  bool stopped_by_handler = false;
};

size_t onStreamBody(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* stream = static_cast<StreamTransfer*>(userdata);
  if (stream->status == 0) {
    // Body bytes only come after the final status line (redirects are not followed).
    curl_easy_getinfo(stream->curl, CURLINFO_RESPONSE_CODE, &stream->status);
  }
  if (stream->status < 200 || stream->status > 299) {
    return onBody(data, size, nmemb, &stream->transfer);
  }
  const size_t n = size * nmemb;
  if (n > 0 && !(*stream->on_body)(std::string_view(data, n))) {
    stream->stopped_by_handler = true;
    return 0;
  }
  return n;
}

size_t onHeader(char* data, size_t size, size_t nitems, void* userdata) {
  auto* transfer = static_cast<Transfer*>(userdata);
  const size_t n = size * nitems;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
    line.remove_suffix(1);
  }
  auto& headers = transfer->response.headers;
  if (line.empty()) {
    return n;
  }
  if (line.starts_with("HTTP/")) {
    // A new status line: whatever came before belonged to an interim (1xx) or proxy response.
    headers.clear();
    return n;
  }
  if ((line.front() == ' ' || line.front() == '\t') && !headers.empty()) {
    // Obsolete line folding: a continuation of the previous value.
    headers.back().second.append(" ");
    headers.back().second.append(trimOws(line));
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return n;
  }
  headers.emplace_back(absl::AsciiStrToLower(av(trimOws(line.substr(0, colon)))),
                       std::string(trimOws(line.substr(colon + 1))));
  return n;
}

// ---------------------------------------------------------------------------------------------
// Share handle locks: libcurl calls these around every access to the shared DNS and TLS session
// caches, from whichever thread is running a transfer.

struct ShareLocks {
  std::array<std::mutex, CURL_LOCK_DATA_LAST> mutexes;
};

void lockShare(CURL*, curl_lock_data data, curl_lock_access, void* userptr) {
  auto* locks = static_cast<ShareLocks*>(userptr);
  if (data >= 0 && data < CURL_LOCK_DATA_LAST) {
    locks->mutexes[data].lock();
  }
}

void unlockShare(CURL*, curl_lock_data data, void* userptr) {
  auto* locks = static_cast<ShareLocks*>(userptr);
  if (data >= 0 && data < CURL_LOCK_DATA_LAST) {
    locks->mutexes[data].unlock();
  }
}

// ---------------------------------------------------------------------------------------------
// Option validation.

bool looksLikePem(std::string_view pem, std::string_view label_suffix) {
  const size_t begin = pem.find("-----BEGIN ");
  return begin != std::string_view::npos && pem.find(label_suffix, begin) != std::string_view::npos;
}

absl::Status checkReadable(std::string_view field, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError("tls." + std::string(field) + " " + path +
                                      " is not a readable file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open() || in.peek() == std::ifstream::traits_type::eof()) {
    return absl::InvalidArgumentError("tls." + std::string(field) + " " + path +
                                      " cannot be read or is empty");
  }
  return absl::OkStatus();
}

// Messages name fields and paths only: never PEM bytes, least of all the key's.
absl::Status validateTls(const TlsOptions& tls) {
  if (!tls.ca_pem.empty() && !tls.ca_file.empty()) {
    return absl::InvalidArgumentError("tls: both ca_pem and ca_file are set; give one");
  }
  if (!tls.client_cert_pem.empty() && !tls.client_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "tls: both client_cert_pem and client_cert_file are set; give one");
  }
  if (!tls.client_key_pem.empty() && !tls.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "tls: both client_key_pem and client_key_file are set; give one");
  }
  const bool has_cert = !tls.client_cert_pem.empty() || !tls.client_cert_file.empty();
  const bool has_key = !tls.client_key_pem.empty() || !tls.client_key_file.empty();
  if (has_cert != has_key) {
    return absl::InvalidArgumentError(has_cert ? "tls: a client certificate needs a client key"
                                               : "tls: a client key needs a client certificate");
  }
  if (!tls.ca_pem.empty() && !looksLikePem(tls.ca_pem, "CERTIFICATE-----")) {
    return absl::InvalidArgumentError("tls.ca_pem holds no PEM certificate");
  }
  if (!tls.client_cert_pem.empty() && !looksLikePem(tls.client_cert_pem, "CERTIFICATE-----")) {
    return absl::InvalidArgumentError("tls.client_cert_pem holds no PEM certificate");
  }
  if (!tls.client_key_pem.empty() &&
      !looksLikePem(tls.client_key_pem.reveal(), "PRIVATE KEY-----")) {
    return absl::InvalidArgumentError("tls.client_key_pem holds no PEM private key");
  }
  if (!tls.ca_file.empty()) {
    if (auto status = checkReadable("ca_file", tls.ca_file); !status.ok()) {
      return status;
    }
  }
  if (!tls.client_cert_file.empty()) {
    if (auto status = checkReadable("client_cert_file", tls.client_cert_file); !status.ok()) {
      return status;
    }
  }
  if (!tls.client_key_file.empty()) {
    if (auto status = checkReadable("client_key_file", tls.client_key_file); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

// Records the first failing curl_easy_setopt so configuration reads as a flat list.
class OptionSetter {
 public:
  explicit OptionSetter(CURL* handle) : handle_(handle) {}

  template <typename T>
  void set(CURLoption option, T value) {
    const CURLcode code = curl_easy_setopt(handle_, option, value);
    if (first_error_ == CURLE_OK) {
      first_error_ = code;
    }
  }

  void setBlob(CURLoption option, std::string_view bytes) {
    // NOCOPY: the bytes live in the client's options, which outlive every transfer, and libcurl
    // copies them into its own connection config when it needs them later.
    curl_blob blob{const_cast<char*>(bytes.data()), bytes.size(), CURL_BLOB_NOCOPY};
    set(option, &blob);
  }

  CURLcode result() const { return first_error_; }

 private:
  CURL* handle_;
  CURLcode first_error_ = CURLE_OK;
};

// Where to connect for a request whose certificate must match `server_name` rather than the
// URL's host.
struct Target {
  std::string url;
  std::string connect_to;  // empty: connect to the URL's host
};

// Rewrites the URL's host to server_name (so libcurl sends it as SNI and verifies the certificate
// against it) and pins the connection to the real host:port with CONNECT_TO.
absl::StatusOr<Target> targetFor(const std::string& url, const std::string& server_name,
                                 std::string_view method) {
  if (server_name.empty() || !hasPrefixIgnoreCase(url, "https://")) {
    return Target{url, ""};
  }
  const auto malformed = [&] {
    return transportError(CURLE_URL_MALFORMAT, false, method, url, nullptr);
  };
  CurlUrlPtr parsed(curl_url());
  if (parsed == nullptr) {
    return absl::ResourceExhaustedError("curl_url: out of memory");
  }
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return malformed();
  }
  char* raw = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK) {
    return malformed();
  }
  const CurlStringPtr host(raw);
  raw = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_PORT, &raw, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    return malformed();
  }
  const CurlStringPtr port(raw);
  if (absl::EqualsIgnoreCase(host.get(), av(server_name))) {
    return Target{url, ""};
  }
  if (curl_url_set(parsed.get(), CURLUPART_HOST, server_name.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("tls.server_name is not a valid host name");
  }
  raw = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_URL, &raw, 0) != CURLUE_OK) {
    return malformed();
  }
  const CurlStringPtr rewritten(raw);
  Target target;
  target.url = rewritten.get();
  target.connect_to = server_name + ":" + port.get() + ":" + host.get() + ":" + port.get();
  return target;
}

// What a transfer's options point into: lives until the transfer is over.
struct PreparedRequest {
  CurlSlistPtr headers;
  CurlSlistPtr connect_to;
  Target target;
  bool is_head = false;
  bool sends_body = false;
};

// Validates the request and builds its header lists.
absl::StatusOr<PreparedRequest> prepare(const HttpRequest& request,
                                        const std::string& server_name) {
  const std::string_view method = request.method;
  if (!isToken(method)) {
    return absl::InvalidArgumentError("invalid HTTP method token for " +
                                      urlForMessages(request.url));
  }
  PreparedRequest prepared;
  // Request headers. Values are never echoed into messages: they carry tokens.
  bool has_content_type = false;
  bool has_expect = false;
  for (size_t i = 0; i < request.headers.size(); ++i) {
    const auto& [name, value] = request.headers[i];
    if (!isToken(name) || !isSafeHeaderValue(value)) {
      return absl::InvalidArgumentError(std::string(method) + " " + urlForMessages(request.url) +
                                        ": request header #" + std::to_string(i) +
                                        " has an invalid name or value");
    }
    has_content_type = has_content_type || absl::EqualsIgnoreCase(av(name), "content-type");
    has_expect = has_expect || absl::EqualsIgnoreCase(av(name), "expect");
    // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would remove it).
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    if (!appendSlist(prepared.headers, line.c_str())) {
      return absl::ResourceExhaustedError("curl_slist_append failed");
    }
  }

  prepared.is_head = method == "HEAD";
  prepared.sends_body =
      !request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  // With a body libcurl would add "Content-Type: application/x-www-form-urlencoded" and, for
  // large ones, "Expect: 100-continue" (an extra round trip); an empty "Name:" suppresses each.
  if (prepared.sends_body && !has_content_type && !appendSlist(prepared.headers, "Content-Type:")) {
    return absl::ResourceExhaustedError("curl_slist_append failed");
  }
  if (!has_expect && !appendSlist(prepared.headers, "Expect:")) {
    return absl::ResourceExhaustedError("curl_slist_append failed");
  }

  absl::StatusOr<Target> target = targetFor(request.url, server_name, method);
  if (!target.ok()) {
    return target.status();
  }
  prepared.target = *std::move(target);
  if (!prepared.target.connect_to.empty() &&
      !appendSlist(prepared.connect_to, prepared.target.connect_to.c_str())) {
    return absl::ResourceExhaustedError("curl_slist_append failed");
  }
  return prepared;
}

// Removes an easy handle from its multi handle before either is cleaned up.
class MultiAttachment {
 public:
  MultiAttachment(CURLM* multi, CURL* easy) : multi_(multi), easy_(easy) {}
  ~MultiAttachment() { curl_multi_remove_handle(multi_, easy_); }
  MultiAttachment(const MultiAttachment&) = delete;
  MultiAttachment& operator=(const MultiAttachment&) = delete;

 private:
  CURLM* multi_;
  CURL* easy_;
};

// ---------------------------------------------------------------------------------------------

// The libcurl HttpClient: blocking easy handles, pooled so their keep-alive connections are
// reused; DNS and TLS sessions shared between handles through one CURLSH.
//
// Thread-safety: send() may run on many threads at once; each call owns its easy handle for the
// duration, and the idle pool is guarded by mu_.
class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient(const CurlHttpClientOptions& options, CurlSharePtr share)
      : options_(options), share_(std::move(share)) {}

  // HttpClient
  absl::StatusOr<HttpResponse> send(const HttpRequest& request) override;
  absl::StatusOr<HttpResponse> sendStreaming(const HttpRequest& request,
                                             const BodyChunkHandler& on_body,
                                             const std::atomic<bool>* stop) override;

  // Sets up the share handle's callbacks; separate from the constructor because the lock table
  // must have its final address.
  absl::Status initShare() {
    if (curl_share_setopt(share_.get(), CURLSHOPT_LOCKFUNC, lockShare) != CURLSHE_OK ||
        curl_share_setopt(share_.get(), CURLSHOPT_UNLOCKFUNC, unlockShare) != CURLSHE_OK ||
        curl_share_setopt(share_.get(), CURLSHOPT_USERDATA, &locks_) != CURLSHE_OK ||
        curl_share_setopt(share_.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(share_.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
            CURLSHE_OK) {
      return absl::InternalError("curl_share_setopt failed");
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<CurlEasyPtr> acquire();
  void release(CurlEasyPtr handle);
  void setTlsOptions(OptionSetter& set) const;
  // Sets every option of a transfer but the body callbacks and the size limit.
  void configure(OptionSetter& set, const HttpRequest& request, const PreparedRequest& prepared,
                 char* error_buffer, std::chrono::milliseconds timeout) const;

  const CurlHttpClientOptions options_;
  // Declared before share_ and the pool so it outlives both (members die in reverse order).
  ShareLocks locks_;
  CurlSharePtr share_;
  std::mutex mu_;
  // Idle handles, most recently used last (its connections are the likeliest to be alive).
  std::vector<CurlEasyPtr> idle_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<CurlEasyPtr> CurlHttpClient::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      CurlEasyPtr handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  CurlEasyPtr handle(curl_easy_init());
  if (handle == nullptr) {
    return absl::ResourceExhaustedError("curl_easy_init failed");
  }
  return handle;
}

void CurlHttpClient::release(CurlEasyPtr handle) {
  // Reset drops every per-request option, including pointers into send()'s stack (error buffer,
  // callbacks' userdata), while keeping the connection cache that makes pooling worthwhile.
  curl_easy_reset(handle.get());
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_handles) {
    idle_.push_back(std::move(handle));
  }
  // Otherwise `handle` is cleaned up here, closing its connections.
}

void CurlHttpClient::setTlsOptions(OptionSetter& set) const {
  const TlsOptions& tls = options_.tls;
  const bool verify = !tls.insecure_skip_verify;
  set.set(CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  set.set(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  if (!tls.ca_pem.empty() || !tls.ca_file.empty()) {
    // A configured CA replaces the system store rather than adding to it.
    set.set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    if (!tls.ca_pem.empty()) {
      set.set(CURLOPT_CAINFO, static_cast<const char*>(nullptr));
      set.setBlob(CURLOPT_CAINFO_BLOB, tls.ca_pem);
    } else {
      set.set(CURLOPT_CAINFO, tls.ca_file.c_str());
    }
  }
  if (!tls.client_cert_pem.empty()) {
    set.set(CURLOPT_SSLCERTTYPE, "PEM");
    set.setBlob(CURLOPT_SSLCERT_BLOB, tls.client_cert_pem);
  } else if (!tls.client_cert_file.empty()) {
    set.set(CURLOPT_SSLCERTTYPE, "PEM");
    set.set(CURLOPT_SSLCERT, tls.client_cert_file.c_str());
  }
  if (!tls.client_key_pem.empty()) {
    set.set(CURLOPT_SSLKEYTYPE, "PEM");
    set.setBlob(CURLOPT_SSLKEY_BLOB, tls.client_key_pem.reveal());
  } else if (!tls.client_key_file.empty()) {
    set.set(CURLOPT_SSLKEYTYPE, "PEM");
    set.set(CURLOPT_SSLKEY, tls.client_key_file.c_str());
  }
}

void CurlHttpClient::configure(OptionSetter& set, const HttpRequest& request,
                               const PreparedRequest& prepared, char* error_buffer,
                               std::chrono::milliseconds timeout) const {
  const std::string_view method = request.method;
  set.set(CURLOPT_ERRORBUFFER, error_buffer);
  set.set(CURLOPT_SHARE, share_.get());
  set.set(CURLOPT_URL, prepared.target.url.c_str());
  set.set(CURLOPT_PROTOCOLS_STR, "http,https");
  // Without NOSIGNAL, libcurl's resolver timeouts use SIGALRM, which is unsafe with threads.
  set.set(CURLOPT_NOSIGNAL, 1L);
  // Redirects are the caller's decision (a Vault standby's 307 must not carry the token blindly).
  set.set(CURLOPT_FOLLOWLOCATION, 0L);
  set.set(CURLOPT_TCP_KEEPALIVE, 1L);
  set.set(CURLOPT_HTTP_VERSION, options_.http2 ? static_cast<long>(CURL_HTTP_VERSION_2TLS)
                                               : static_cast<long>(CURL_HTTP_VERSION_1_1));
  set.set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  // Zero: no deadline (libcurl's meaning too).
  set.set(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));

  if (prepared.is_head) {
    set.set(CURLOPT_NOBODY, 1L);
  } else if (prepared.sends_body) {
    set.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    set.set(CURLOPT_POSTFIELDS, request.body.data());
    if (method != "POST") {
      set.set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  } else if (method == "GET") {
    set.set(CURLOPT_HTTPGET, 1L);
  } else {
    set.set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  set.set(CURLOPT_HTTPHEADER, prepared.headers.get());
  if (request.cancel != nullptr) {
    // libcurl calls this about once a second even while nothing moves, and far more often while
    // data flows; a non-zero return aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
    set.set(CURLOPT_NOPROGRESS, 0L);
    set.set(CURLOPT_XFERINFOFUNCTION, onProgress);
    set.set(CURLOPT_XFERINFODATA, request.cancel);
  }
  if (prepared.connect_to != nullptr) {
    set.set(CURLOPT_CONNECT_TO, prepared.connect_to.get());
  }
  setTlsOptions(set);
}

absl::StatusOr<HttpResponse> CurlHttpClient::send(const HttpRequest& request) {
  absl::StatusOr<PreparedRequest> prepared = prepare(request, options_.tls.server_name);
  if (!prepared.ok()) {
    return prepared.status();
  }
  absl::StatusOr<CurlEasyPtr> acquired = acquire();
  if (!acquired.ok()) {
    return acquired.status();
  }
  CurlEasyPtr handle = *std::move(acquired);
  CURL* const curl = handle.get();
  // Handles come back reset from release(); resetting again is cheap and makes each transfer
  // independent of how the previous one ended.
  curl_easy_reset(curl);

  Transfer transfer;
  transfer.max_bytes = options_.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  OptionSetter set(curl);
  configure(set, request, *prepared, error_buffer,
            request.timeout.count() > 0 ? request.timeout : options_.request_timeout);
  // Lets libcurl refuse early when Content-Length is already too big; onBody enforces the rest.
  set.set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
  set.set(CURLOPT_WRITEFUNCTION, onBody);
  set.set(CURLOPT_WRITEDATA, &transfer);
  set.set(CURLOPT_HEADERFUNCTION, onHeader);
  set.set(CURLOPT_HEADERDATA, &transfer);

  CURLcode code = set.result();
  if (code == CURLE_OK) {
    code = curl_easy_perform(curl);
  }
  long status = 0;
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  }
  absl::Status error = code == CURLE_OK ? absl::OkStatus()
                                        : transportError(code, transfer.too_large, request.method,
                                                         request.url, error_buffer);
  release(std::move(handle));
  if (!error.ok()) {
    return error;
  }
  transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

absl::StatusOr<HttpResponse> CurlHttpClient::sendStreaming(const HttpRequest& request,
                                                           const BodyChunkHandler& on_body,
                                                           const std::atomic<bool>* stop) {
  absl::StatusOr<PreparedRequest> prepared = prepare(request, options_.tls.server_name);
  if (!prepared.ok()) {
    return prepared.status();
  }
  // A fresh handle outside the pool: a stream holds its connection for minutes, and the multi
  // handle driving it keeps that connection in its own cache, which goes away with it.
  CurlEasyPtr handle(curl_easy_init());
  CurlMultiPtr multi(curl_multi_init());
  if (handle == nullptr || multi == nullptr) {
    return absl::ResourceExhaustedError("curl_easy_init or curl_multi_init failed");
  }
  CURL* const curl = handle.get();

  StreamTransfer stream;
  stream.transfer.max_bytes = options_.max_response_bytes;
  stream.curl = curl;
  stream.on_body = &on_body;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  OptionSetter set(curl);
  configure(set, request, *prepared, error_buffer, request.timeout);
  set.set(CURLOPT_WRITEFUNCTION, onStreamBody);
  set.set(CURLOPT_WRITEDATA, &stream);
  set.set(CURLOPT_HEADERFUNCTION, onHeader);
  set.set(CURLOPT_HEADERDATA, &stream.transfer);
  CURLcode code = set.result();
  if (code != CURLE_OK) {
    return transportError(code, false, request.method, request.url, error_buffer);
  }

  // The multi interface, rather than curl_easy_perform, so that `stop` is looked at every 100 ms
  // even while the stream is idle (easy_perform's progress callback may wait a second).
  if (curl_multi_add_handle(multi.get(), curl) != CURLM_OK) {
    return absl::InternalError("curl_multi_add_handle failed");
  }
  const MultiAttachment attachment(multi.get(), curl);
  constexpr int kStopPollMs = 100;
  bool stopped = false;
  int running = 1;
  while (true) {
    if (stop != nullptr && stop->load()) {
      stopped = true;
      break;
    }
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK) {
      return absl::InternalError("curl_multi_perform failed");
    }
    if (running == 0) {
      break;
    }
    if (curl_multi_poll(multi.get(), nullptr, 0, kStopPollMs, nullptr) != CURLM_OK) {
      return absl::InternalError("curl_multi_poll failed");
    }
  }
  if (!stopped) {
    code = CURLE_GOT_NOTHING;
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
      if (message->msg == CURLMSG_DONE && message->easy_handle == curl) {
        code = message->data.result;
      }
    }
    if (code == CURLE_WRITE_ERROR && stream.stopped_by_handler) {
      code = CURLE_OK;
    }
    if (code != CURLE_OK) {
      return transportError(code, stream.transfer.too_large, request.method, request.url,
                            error_buffer);
    }
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 0) {
    return absl::CancelledError(std::string(request.method) + " " + urlForMessages(request.url) +
                                ": stopped before a response arrived");
  }
  stream.transfer.response.status = static_cast<int>(status);
  return std::move(stream.transfer.response);
}

}  // namespace

absl::StatusOr<HttpClientPtr> newCurlHttpClient(const CurlHttpClientOptions& options) {
  if (auto status = validateTls(options.tls); !status.ok()) {
    return status;
  }
  CurlSharePtr share(curl_share_init());
  if (share == nullptr) {
    return absl::ResourceExhaustedError("curl_share_init failed");
  }
  auto client = std::make_unique<CurlHttpClient>(options, std::move(share));
  if (auto status = client->initShare(); !status.ok()) {
    return status;
  }
  if (options.tls.insecure_skip_verify) {
    // Only an explicit setting gets here (a flag, a kubeconfig's insecure-skip-tls-verify, a
    // SecretProviderClass's skipTLSVerify); it is never silent: every client made so says so.
    log::warn(
        "TLS certificate verification is OFF for this client: anyone on the path can "
        "read its tokens and secrets",
        {{"server_name", options.tls.server_name}});
  }
  return client;
}

CurlGlobal::CurlGlobal() {
  const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    // Nothing works without it and there is no caller to return a Status to: main() constructs
    // this before anything else.
    std::fprintf(stderr, "curl_global_init failed: %s\n", curl_easy_strerror(code));
    std::abort();
  }
}

CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

}  // namespace secretsync::common::http
