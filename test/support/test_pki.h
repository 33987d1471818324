#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "test/support/http_server.h"

namespace secretsync::test {

// A certificate and its private key, both PEM.
struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

// What to put in a certificate issued by issueCertificate().
struct CertSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // "127.0.0.1", "::1"
  bool is_ca = false;
  bool server_auth = false;
  bool client_auth = false;
  int valid_days = 30;
};

// Issues a certificate for a fresh EC P-256 key, signed (SHA-256) by `issuer`, or self-signed
// when `issuer` is null.
absl::StatusOr<CertAndKey> issueCertificate(const CertSpec& spec, const CertAndKey* issuer);

// Throwaway PKI made at test time with the OpenSSL C API (EC P-256, SHA-256):
//   ca        self-signed CA
//   server    signed by ca; SANs DNS:localhost, IP:127.0.0.1, DNS:vault.test; serverAuth
//   client    signed by ca; CN "secretsync-test-client"; clientAuth
//   other_ca  an unrelated self-signed CA, to prove a wrong CA is refused
//   other_server  signed by other_ca with the same SANs as server
//
// Thread-safety: a plain value; generate() may be called from any thread.
struct TestPki {
  CertAndKey ca;
  CertAndKey server;
  CertAndKey client;
  CertAndKey other_ca;
  CertAndKey other_server;

  static absl::StatusOr<TestPki> generate();

  // @return HTTPS settings for HttpServer with the server certificate; with
  // `require_client_cert` the server demands a client certificate signed by ca.
  TlsServerConfig serverConfig(bool require_client_cert = false) const;
};

// Reads HTTPS settings for HttpServer from PEM files (the standalone doubles' --tls-* flags);
// an empty `client_ca_file` leaves client certificates off.
// @return kInvalidArgument naming the file that cannot be read.
absl::StatusOr<TlsServerConfig> loadTlsServerConfig(const std::string& cert_file,
                                                    const std::string& key_file,
                                                    const std::string& client_ca_file);

// PEM files of a TestPki in a fresh private temp directory (mode 0700, files 0600), removed
// with everything in it when this object is destroyed.
//
// Thread-safety: not thread-safe; read the paths from any thread once written.
class TestPkiFiles {
 public:
  // Writes ca.crt, ca.key, server.crt, server.key, client.crt, client.key, other-ca.crt,
  // other-server.crt, other-server.key.
  static absl::StatusOr<TestPkiFiles> write(const TestPki& pki);

  TestPkiFiles(TestPkiFiles&& other) noexcept;
  TestPkiFiles& operator=(TestPkiFiles&& other) noexcept;
  TestPkiFiles(const TestPkiFiles&) = delete;
  TestPkiFiles& operator=(const TestPkiFiles&) = delete;
  ~TestPkiFiles();

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string caCert() const { return path("ca.crt"); }
  std::string serverCert() const { return path("server.crt"); }
  std::string serverKey() const { return path("server.key"); }
  std::string clientCert() const { return path("client.crt"); }
  std::string clientKey() const { return path("client.key"); }
  std::string otherCaCert() const { return path("other-ca.crt"); }

 private:
  explicit TestPkiFiles(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

// Writes `content` to `path` with mode 0600 (created or truncated).
absl::Status writePrivateFile(const std::string& path, const std::string& content);

}  // namespace secretsync::test
