// vault-double: the in-repo Vault HTTP API double as a standalone process, for end-to-end tests
// and the demo.
//
//   vault-double [--listen 127.0.0.1:0] [--seed FILE.json] [--root-token T]
//                [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--port-file PATH]
//                [--no-default-mount]
//   vault-double --mint-jwt --key K --namespace NS --service-account SA [--audience A]...
//                [--ttl SECONDS] [--uid UID]
//
// Serving mode prints one line, "vault-double listening on http://127.0.0.1:PORT", once the
// port is bound (and writes the port to --port-file), then serves until SIGTERM or SIGINT.
// --mint-jwt prints a Kubernetes-style service-account JWT signed with HS256 key K and exits.
// The seed format is documented in test/support/vault_double/seed.h.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <signal.h>

#include "pkg/common/read_file.h"
#include "test/support/standalone_process.h"
#include "test/support/test_pki.h"
#include "test/support/vault_double/auth_kubernetes.h"
#include "test/support/vault_double/seed.h"
#include "test/support/vault_double/vault_double.h"

namespace {

using secretsync::test::VaultDouble;
using secretsync::test::VaultDoubleOptions;

int usage(const char* why) {
  std::fprintf(stderr,
               "vault-double: %s\n"
               "usage: vault-double [--listen HOST:PORT] [--seed FILE] [--root-token T]\n"
               "                    [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
               "                    [--port-file PATH] [--no-default-mount]\n"
               "       vault-double --mint-jwt --key K --namespace NS --service-account SA\n"
               "                    [--audience A]... [--ttl SECONDS] [--uid UID]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string listen = "127.0.0.1:0";
  std::string seed_file;
  std::string root_token = "root";
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::string port_file;
  bool default_mount = true;
  bool mint = false;
  std::string key;
  std::string ns;
  std::string sa;
  std::vector<std::string> audiences;
  long long ttl = 3600;
  std::string uid;

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string tmp;
    bool ok = true;
    if (a == "--listen") {
      ok = value(&listen);
    } else if (a == "--seed") {
      ok = value(&seed_file);
    } else if (a == "--root-token") {
      ok = value(&root_token);
    } else if (a == "--tls-cert") {
      ok = value(&tls_cert);
    } else if (a == "--tls-key") {
      ok = value(&tls_key);
    } else if (a == "--tls-client-ca") {
      ok = value(&tls_client_ca);
    } else if (a == "--port-file") {
      ok = value(&port_file);
    } else if (a == "--no-default-mount") {
      default_mount = false;
    } else if (a == "--mint-jwt") {
      mint = true;
    } else if (a == "--key") {
      ok = value(&key);
    } else if (a == "--namespace") {
      ok = value(&ns);
    } else if (a == "--service-account") {
      ok = value(&sa);
    } else if (a == "--audience") {
      ok = value(&tmp);
      audiences.push_back(tmp);
    } else if (a == "--uid") {
      ok = value(&uid);
    } else if (a == "--ttl") {
      ok = value(&tmp);
      char* end = nullptr;
      ttl = std::strtoll(tmp.c_str(), &end, 10);
      ok = ok && end != nullptr && *end == '\0' && !tmp.empty();
    } else if (a == "--help" || a == "-h") {
      usage("help");
      return 0;
    } else {
      return usage(("unknown argument " + a).c_str());
    }
    if (!ok) {
      return usage(("bad or missing value for " + a).c_str());
    }
  }

  if (mint) {
    if (key.empty() || ns.empty() || sa.empty()) {
      return usage("--mint-jwt needs --key, --namespace and --service-account");
    }
    auto expiry = std::chrono::system_clock::now() + std::chrono::seconds(ttl);
    std::cout << secretsync::test::mintServiceAccountJwt(key, ns, sa, audiences, expiry, uid)
              << std::endl;
    return 0;
  }

  VaultDoubleOptions options;
  if (!secretsync::test::parseListenAddress(listen, &options.host, &options.port)) {
    return usage("--listen must be HOST:PORT");
  }
  options.root_token = root_token;
  options.mount_default_secret = default_mount;
  if (!tls_cert.empty() || !tls_key.empty()) {
    auto tls = secretsync::test::loadTlsServerConfig(tls_cert, tls_key, tls_client_ca);
    if (!tls.ok()) {
      return usage(std::string(tls.status().message()).c_str());
    }
    options.tls = *std::move(tls);
  }

  // Before any thread starts, so only sigwait() below receives them.
  const sigset_t stop_signals = secretsync::test::blockStopSignals();

  auto vault = VaultDouble::start(options);
  if (!vault.ok()) {
    std::fprintf(stderr, "vault-double: %s\n", vault.status().ToString().c_str());
    return 1;
  }
  if (!seed_file.empty()) {
    absl::Status st = secretsync::test::applySeedFile(**vault, seed_file);
    if (!st.ok()) {
      std::fprintf(stderr, "vault-double: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  if (!secretsync::test::writePortFile("vault-double", port_file, (*vault)->port())) {
    return 1;
  }
  secretsync::test::serveUntilStopSignal("vault-double", (*vault)->baseUrl(), stop_signals);
  vault->reset();
  return 0;
}
