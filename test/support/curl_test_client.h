#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace secretsync::test {

// What a test saw on the wire.
struct CurlTestResponse {
  // 0 when the transfer failed (see error).
  int status = 0;
  // Names lower-cased, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // libcurl's CURLcode and message; 0 / "" on success.
  int curl_code = 0;
  std::string error;

  std::optional<std::string> header(std::string_view name) const;
  bool hasHeader(std::string_view name) const { return header(name).has_value(); }
};

struct CurlTestClientOptions {
  std::string ca_pem;           // trust these CAs (HTTPS); empty = no verification setup
  std::string client_cert_pem;  // mutual TLS
  std::string client_key_pem;
  std::string resolve;  // CURLOPT_RESOLVE entry, e.g. "vault.test:1234:127.0.0.1"
  long timeout_ms = 30'000;
};

// A raw libcurl client for tests: sends exactly what it is told, any method, and keeps its
// connection alive between calls (one easy handle per client).
//
// Thread-safety: not thread-safe; use one client per thread.
class CurlTestClient {
 public:
  explicit CurlTestClient(CurlTestClientOptions options = {});
  ~CurlTestClient();
  CurlTestClient(const CurlTestClient&) = delete;
  CurlTestClient& operator=(const CurlTestClient&) = delete;

  CurlTestResponse request(const std::string& method, const std::string& url,
                           const std::vector<std::pair<std::string, std::string>>& headers = {},
                           const std::string& body = "");

 private:
  CurlTestClientOptions options_;
  void* curl_;  // CURL*, kept opaque so tests need no curl header
};

}  // namespace secretsync::test
