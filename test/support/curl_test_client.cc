#include "test/support/curl_test_client.h"

#include <mutex>

#include <curl/curl.h>

#include "absl/strings/str_cat.h"
#include "test/support/ascii_util.h"

namespace secretsync::test {
namespace {

size_t writeBody(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}

size_t writeHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* response = static_cast<CurlTestResponse*>(user);
  std::string_view line(data, size * nmemb);
  line = trimAscii(line);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response (e.g. after 100 Continue or a redirect): keep only the last one's headers.
    response->headers.clear();
    return size * nmemb;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    response->headers.emplace_back(toLowerAscii(line.substr(0, colon)),
                                   std::string(trimAscii(line.substr(colon + 1))));
  }
  return size * nmemb;
}

void setBlob(CURL* curl, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, option, &blob);
}

}  // namespace

std::optional<std::string> CurlTestResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) {
      return v;
    }
  }
  return std::nullopt;
}

CurlTestClient::CurlTestClient(CurlTestClientOptions options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

CurlTestClient::~CurlTestClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

CurlTestResponse CurlTestClient::request(
    const std::string& method, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  CURL* curl = static_cast<CURL*>(curl_);
  CurlTestResponse response;
  // Reset keeps the connection cache, so consecutive calls reuse one keep-alive connection.
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, writeBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, writeHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_slist* list = nullptr;
  list = curl_slist_append(list, "Expect:");
  for (const auto& [k, v] : headers) {
    list = curl_slist_append(list, absl::StrCat(k, ": ", v).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_slist* resolve = nullptr;
  if (!options_.resolve.empty()) {
    resolve = curl_slist_append(resolve, options_.resolve.c_str());
    curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
  }
  if (!options_.ca_pem.empty()) {
    setBlob(curl, CURLOPT_CAINFO_BLOB, options_.ca_pem);
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  }
  if (!options_.client_cert_pem.empty()) {
    setBlob(curl, CURLOPT_SSLCERT_BLOB, options_.client_cert_pem);
    curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!options_.client_key_pem.empty()) {
    setBlob(curl, CURLOPT_SSLKEY_BLOB, options_.client_key_pem);
    curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  curl_slist_free_all(resolve);
  if (rc != CURLE_OK) {
    response.curl_code = static_cast<int>(rc);
    response.error = curl_easy_strerror(rc);
    response.status = 0;
    return response;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace secretsync::test
