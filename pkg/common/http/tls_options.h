#pragma once

#include <string>

#include "pkg/common/secret_string.h"

namespace secretsync::common::http {

// TLS settings for an HTTPS peer. Verification is on unless insecure_skip_verify is set, and the
// system trust store is used when no CA is given.
struct TlsOptions {
  // Trusted CA certificates as PEM bytes (e.g. a store's caBundle); used instead of the system
  // store when set. At most one of ca_pem and ca_file.
  std::string ca_pem;
  // Path of a PEM file with trusted CA certificates.
  std::string ca_file;
  // Client certificate for mutual TLS, PEM bytes or a file path (at most one of each pair).
  std::string client_cert_pem;
  std::string client_cert_file;
  SecretString client_key_pem;
  std::string client_key_file;
  // Name to verify the server certificate against (and send as SNI) instead of the URL's host.
  std::string server_name;
  // Turns verification off. Only for explicit user opt-in (vaultSkipTLSVerify); never a default.
  bool insecure_skip_verify = false;
};

}  // namespace secretsync::common::http
