// kube-double: the in-repo Kubernetes API server double as a standalone process, for end-to-end
// tests, real clients (kubectl, python3-kubernetes) and the demo.
//
//   kube-double [--listen 127.0.0.1:0] [--seed FILE] [--token USER=TOKEN]...
//               [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE] [--tls-ca FILE]]
//               [--port-file PATH] [--write-kubeconfig PATH]
//               [--bookmark-interval-ms N] [--watch-history N]
//               [--service-account-key KEY] [--service-account-issuer ISS]
//
// Prints one line, "kube-double listening on http://127.0.0.1:PORT", once the port is bound
// (after writing --port-file and --write-kubeconfig), then serves until SIGTERM or SIGINT.
// Without --token, the token "kube-double-token" (user "admin") is accepted. The seed is YAML
// or JSON: objects, `---` documents, a JSON array or a `kind: List` (see kube_double/seed.h).
// --tls-ca is the CA put into the kubeconfig (without it an HTTPS kubeconfig skips
// verification).

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <signal.h>

#include "pkg/common/read_file.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/kubeconfig.h"
#include "test/support/kube_double/seed.h"
#include "test/support/standalone_process.h"
#include "test/support/test_pki.h"

namespace {

using secretsync::test::KubeDouble;
using secretsync::test::KubeDoubleOptions;

int usage(const std::string& why) {
  std::fprintf(stderr,
               "kube-double: %s\n"
               "usage: kube-double [--listen HOST:PORT] [--seed FILE] [--token USER=TOKEN]...\n"
               "                   [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]\n"
               "                    [--tls-ca FILE]] [--port-file PATH]\n"
               "                   [--write-kubeconfig PATH] [--bookmark-interval-ms N]\n"
               "                   [--watch-history N] [--service-account-key KEY]\n"
               "                   [--service-account-issuer ISS]\n",
               why.c_str());
  return 2;
}

// A non-negative decimal number, nothing else.
bool parseNumber(const std::string& text, long long* out) {
  char* end = nullptr;
  *out = std::strtoll(text.c_str(), &end, 10);
  return !text.empty() && end != nullptr && *end == '\0' && *out >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string listen = "127.0.0.1:0";
  std::string seed_file;
  std::vector<std::pair<std::string, std::string>> tokens;  // (user, token)
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::string tls_ca;
  std::string port_file;
  std::string kubeconfig_path;
  KubeDoubleOptions options;

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
    long long number = 0;
    bool ok = true;
    if (a == "--listen") {
      ok = value(&listen);
    } else if (a == "--seed") {
      ok = value(&seed_file);
    } else if (a == "--token") {
      ok = value(&tmp);
      size_t eq = tmp.find('=');
      ok = ok && eq != std::string::npos && eq > 0 && eq + 1 < tmp.size();
      if (ok) {
        tokens.emplace_back(tmp.substr(0, eq), tmp.substr(eq + 1));
      }
    } else if (a == "--tls-cert") {
      ok = value(&tls_cert);
    } else if (a == "--tls-key") {
      ok = value(&tls_key);
    } else if (a == "--tls-client-ca") {
      ok = value(&tls_client_ca);
    } else if (a == "--tls-ca") {
      ok = value(&tls_ca);
    } else if (a == "--port-file") {
      ok = value(&port_file);
    } else if (a == "--write-kubeconfig") {
      ok = value(&kubeconfig_path);
    } else if (a == "--bookmark-interval-ms") {
      ok = value(&tmp) && parseNumber(tmp, &number) && number > 0;
      options.bookmark_interval = std::chrono::milliseconds(number);
    } else if (a == "--watch-history") {
      ok = value(&tmp) && parseNumber(tmp, &number) && number > 0;
      options.watch_history = static_cast<size_t>(number);
    } else if (a == "--service-account-key") {
      ok = value(&options.service_account_key);
    } else if (a == "--service-account-issuer") {
      ok = value(&options.service_account_issuer);
    } else if (a == "--help" || a == "-h") {
      usage("help");
      return 0;
    } else {
      return usage("unknown argument " + a);
    }
    if (!ok) {
      return usage("bad or missing value for " + a);
    }
  }
  if (tokens.empty()) {
    tokens.emplace_back("admin", "kube-double-token");
  }
  for (const auto& [user, token] : tokens) {
    options.tokens[token] = user;
  }
  if (!secretsync::test::parseListenAddress(listen, &options.host, &options.port)) {
    return usage("--listen must be HOST:PORT");
  }
  std::string ca_pem;
  if (!tls_cert.empty() || !tls_key.empty()) {
    auto tls = secretsync::test::loadTlsServerConfig(tls_cert, tls_key, tls_client_ca);
    if (!tls.ok()) {
      return usage(std::string(tls.status().message()));
    }
    if (!tls_ca.empty()) {
      std::optional<std::string> pem = secretsync::common::readFile(tls_ca);
      if (!pem.has_value()) {
        return usage("cannot read --tls-ca");
      }
      ca_pem = *std::move(pem);
    }
    options.tls = *std::move(tls);
  }

  std::vector<nlohmann::json> seed;
  if (!seed_file.empty()) {
    std::optional<std::string> text = secretsync::common::readFile(seed_file);
    if (!text.has_value()) {
      return usage("cannot read --seed " + seed_file);
    }
    auto parsed = secretsync::test::kube::parseSeed(*text);
    if (!parsed.ok()) {
      std::fprintf(stderr, "kube-double: %s: %s\n", seed_file.c_str(),
                   parsed.status().ToString().c_str());
      return 1;
    }
    seed = std::move(*parsed);
  }

  // Before any thread starts, so only sigwait() below receives them.
  const sigset_t stop_signals = secretsync::test::blockStopSignals();

  auto kube = KubeDouble::start(options);
  if (!kube.ok()) {
    std::fprintf(stderr, "kube-double: %s\n", kube.status().ToString().c_str());
    return 1;
  }
  absl::Status seeded = secretsync::test::kube::applySeed(**kube, seed);
  if (!seeded.ok()) {
    std::fprintf(stderr, "kube-double: %s\n", seeded.ToString().c_str());
    return 1;
  }
  if (!secretsync::test::writePortFile("kube-double", port_file, (*kube)->port())) {
    return 1;
  }
  if (!kubeconfig_path.empty()) {
    secretsync::test::kube::KubeconfigSpec spec;
    spec.server = (*kube)->baseUrl();
    spec.token = tokens.front().second;
    spec.user = tokens.front().first;
    spec.ca_pem = ca_pem;
    if (!secretsync::test::writeFileAtomically(kubeconfig_path,
                                               secretsync::test::kube::renderKubeconfig(spec))) {
      std::fprintf(stderr, "kube-double: cannot write %s\n", kubeconfig_path.c_str());
      return 1;
    }
  }
  secretsync::test::serveUntilStopSignal("kube-double", (*kube)->baseUrl(), stop_signals);
  kube->reset();
  return 0;
}
