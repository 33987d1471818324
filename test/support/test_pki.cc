#include "test/support/test_pki.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pkg/common/read_file.h"

namespace secretsync::test {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct ExtDeleter {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct BnDeleter {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, ExtDeleter>;
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

// @return `what` plus the drained OpenSSL error queue, as an internal error.
absl::Status sslError(std::string_view what) {
  std::string detail;
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", buf);
  }
  return absl::InternalError(absl::StrCat("test pki: ", std::string(what), ": ", detail));
}

absl::StatusOr<std::string> bioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0 || data == nullptr) {
    return sslError("BIO_get_mem_data");
  }
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> certToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return sslError("PEM_write_bio_X509");
  }
  return bioToString(bio.get());
}

absl::StatusOr<std::string> keyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return sslError("PEM_write_bio_PrivateKey");
  }
  return bioToString(bio.get());
}

absl::StatusOr<X509Ptr> pemToCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    return sslError("PEM_read_bio_X509");
  }
  return cert;
}

absl::StatusOr<PkeyPtr> pemToKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    return sslError("PEM_read_bio_PrivateKey");
  }
  return key;
}

absl::Status addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return sslError(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CertAndKey> issueCertificate(const CertSpec& spec, const CertAndKey* issuer) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    return sslError("EVP_PKEY_Q_keygen");
  }
  X509Ptr issuer_cert;
  PkeyPtr issuer_key;
  if (issuer != nullptr) {
    auto c = pemToCert(issuer->cert_pem);
    if (!c.ok()) {
      return c.status();
    }
    issuer_cert = std::move(*c);
    auto k = pemToKey(issuer->key_pem);
    if (!k.ok()) {
      return k.status();
    }
    issuer_key = std::move(*k);
  }

  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) {
    return sslError("X509_new");
  }
  // A random positive 128-bit serial, so certificates from different runs never collide.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
    return sslError("RAND_bytes");
  }
  serial_bytes[0] &= 0x7f;
  BnPtr serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return sslError("serial");
  }
  // Back-date an hour so small clock differences never make a fresh certificate "not yet valid".
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * spec.valid_days) == nullptr) {
    return sslError("validity");
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1) {
    return sslError("X509_set_pubkey");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("secretsync-test"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                 -1, -1, 0) != 1) {
    return sslError("subject");
  }
  X509* signer_cert = issuer_cert ? issuer_cert.get() : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer_cert)) != 1) {
    return sslError("issuer");
  }

  absl::Status st;
  if (spec.is_ca) {
    st.Update(addExtension(cert.get(), signer_cert, NID_basic_constraints, "critical,CA:TRUE"));
    st.Update(addExtension(cert.get(), signer_cert, NID_key_usage,
                           "critical,keyCertSign,cRLSign,digitalSignature"));
  } else {
    st.Update(addExtension(cert.get(), signer_cert, NID_basic_constraints, "critical,CA:FALSE"));
    st.Update(addExtension(cert.get(), signer_cert, NID_key_usage, "critical,digitalSignature"));
    std::vector<std::string> eku;
    if (spec.server_auth) {
      eku.push_back("serverAuth");
    }
    if (spec.client_auth) {
      eku.push_back("clientAuth");
    }
    if (!eku.empty()) {
      st.Update(addExtension(cert.get(), signer_cert, NID_ext_key_usage, absl::StrJoin(eku, ",")));
    }
  }
  std::vector<std::string> sans;
  for (const auto& dns : spec.dns_names) {
    sans.push_back(absl::StrCat("DNS:", dns));
  }
  for (const auto& ip : spec.ip_addresses) {
    sans.push_back(absl::StrCat("IP:", ip));
  }
  if (!sans.empty()) {
    st.Update(
        addExtension(cert.get(), signer_cert, NID_subject_alt_name, absl::StrJoin(sans, ",")));
  }
  st.Update(addExtension(cert.get(), signer_cert, NID_subject_key_identifier, "hash"));
  if (issuer_cert) {
    st.Update(addExtension(cert.get(), signer_cert, NID_authority_key_identifier, "keyid:always"));
  }
  if (!st.ok()) {
    return st;
  }
  EVP_PKEY* signer_key = issuer_key ? issuer_key.get() : key.get();
  if (X509_sign(cert.get(), signer_key, EVP_sha256()) <= 0) {
    return sslError("X509_sign");
  }
  CertAndKey out;
  auto cert_pem = certToPem(cert.get());
  if (!cert_pem.ok()) {
    return cert_pem.status();
  }
  auto key_pem = keyToPem(key.get());
  if (!key_pem.ok()) {
    return key_pem.status();
  }
  out.cert_pem = std::move(*cert_pem);
  out.key_pem = std::move(*key_pem);
  return out;
}

absl::StatusOr<TestPki> TestPki::generate() {
  TestPki pki;
  CertSpec ca_spec{.common_name = "secretsync test CA", .is_ca = true, .valid_days = 60};
  auto ca = issueCertificate(ca_spec, nullptr);
  if (!ca.ok()) {
    return ca.status();
  }
  pki.ca = std::move(*ca);

  CertSpec server_spec{.common_name = "localhost",
                       .dns_names = {"localhost", "vault.test"},
                       .ip_addresses = {"127.0.0.1"},
                       .server_auth = true};
  auto server = issueCertificate(server_spec, &pki.ca);
  if (!server.ok()) {
    return server.status();
  }
  pki.server = std::move(*server);

  CertSpec client_spec{.common_name = "secretsync-test-client", .client_auth = true};
  auto client = issueCertificate(client_spec, &pki.ca);
  if (!client.ok()) {
    return client.status();
  }
  pki.client = std::move(*client);

  CertSpec other_spec{.common_name = "unrelated test CA", .is_ca = true, .valid_days = 60};
  auto other = issueCertificate(other_spec, nullptr);
  if (!other.ok()) {
    return other.status();
  }
  pki.other_ca = std::move(*other);

  auto other_server = issueCertificate(server_spec, &pki.other_ca);
  if (!other_server.ok()) {
    return other_server.status();
  }
  pki.other_server = std::move(*other_server);
  return pki;
}

TlsServerConfig TestPki::serverConfig(bool require_client_cert) const {
  TlsServerConfig cfg;
  cfg.cert_pem = server.cert_pem;
  cfg.key_pem = server.key_pem;
  if (require_client_cert) {
    cfg.client_ca_pem = ca.cert_pem;
  }
  return cfg;
}

absl::Status writePrivateFile(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  }
  // The mode given to open() only applies to new files; make sure an existing one is private too.
  ::fchmod(fd, 0600);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      int err = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    return absl::InternalError(absl::StrCat("close ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<TestPkiFiles> TestPkiFiles::write(const TestPki& pki) {
  std::error_code ec;
  std::string base = std::filesystem::temp_directory_path(ec).string();
  if (ec) {
    base = "/tmp";
  }
  std::string templ = base + "/secretsync-pki-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  TestPkiFiles files(templ);
  const std::pair<const char*, const std::string*> entries[] = {
      {"ca.crt", &pki.ca.cert_pem},
      {"ca.key", &pki.ca.key_pem},
      {"server.crt", &pki.server.cert_pem},
      {"server.key", &pki.server.key_pem},
      {"client.crt", &pki.client.cert_pem},
      {"client.key", &pki.client.key_pem},
      {"other-ca.crt", &pki.other_ca.cert_pem},
      {"other-server.crt", &pki.other_server.cert_pem},
      {"other-server.key", &pki.other_server.key_pem},
  };
  for (const auto& [name, content] : entries) {
    absl::Status st = writePrivateFile(files.path(name), *content);
    if (!st.ok()) {
      return st;
    }
  }
  return files;
}

TestPkiFiles::TestPkiFiles(TestPkiFiles&& other) noexcept : dir_(std::move(other.dir_)) {
  other.dir_.clear();
}

TestPkiFiles& TestPkiFiles::operator=(TestPkiFiles&& other) noexcept {
  if (this != &other) {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
    dir_ = std::move(other.dir_);
    other.dir_.clear();
  }
  return *this;
}

TestPkiFiles::~TestPkiFiles() {
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

absl::StatusOr<TlsServerConfig> loadTlsServerConfig(const std::string& cert_file,
                                                    const std::string& key_file,
                                                    const std::string& client_ca_file) {
  TlsServerConfig tls;
  for (auto [path, field] :
       {std::pair{&cert_file, &tls.cert_pem}, std::pair{&key_file, &tls.key_pem},
        std::pair{&client_ca_file, &tls.client_ca_pem}}) {
    if (path->empty() && field == &tls.client_ca_pem) {
      continue;
    }
    std::optional<std::string> pem = common::readFile(*path);
    if (!pem.has_value()) {
      return absl::InvalidArgumentError("cannot read \"" + *path + "\"");
    }
    *field = *std::move(pem);
  }
  return tls;
}

}  // namespace secretsync::test
