#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "pkg/common/http/tls_options.h"
#include "pkg/common/secret_string.h"

namespace secretsync::kube {

// Where and how to reach the Kubernetes API server (kubernetes-api.md §4.1, §4.2).
struct KubeConfig {
  // "https://host:port", possibly with a path prefix (a proxy's); no trailing slash.
  std::string server;
  // CA, client certificate and key, server name. insecure_skip_verify is only ever set from an
  // explicit `insecure-skip-tls-verify: true` in a kubeconfig.
  common::http::TlsOptions tls;
  // A fixed bearer token...
  common::SecretString token;
  // ...or a file holding one, re-read as it rotates (projected service-account tokens). When both
  // are set the file wins.
  std::string token_file;
  // The context's namespace, or the pod's own namespace in a cluster; may be empty.
  std::string namespace_name;
  // For messages: "in-cluster" or "kubeconfig <path> context <name>".
  std::string source;
};

// Where the process looks things up; tests replace both.
struct ConfigEnvironment {
  // Environment variables; default std::getenv (nullopt when unset).
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // The pod's service-account directory with token, ca.crt and namespace.
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

// The in-cluster configuration, as client-go's InClusterConfig: https://KUBERNETES_SERVICE_HOST:
// KUBERNETES_SERVICE_PORT (an IPv6 host in brackets), the token file (kept as a path so it is
// re-read when the kubelet rotates it, but checked readable now), ca.crt, and the namespace file
// (optional).
// Errors: kFailedPrecondition when not in a cluster (either variable empty) or a file cannot be
// read; messages name the variable or file.
absl::StatusOr<KubeConfig> inClusterConfig(const ConfigEnvironment& env = {});

// Reads a kubeconfig file and picks `context` (empty: current-context). Relative file paths in it
// are taken relative to the file's directory, as kubectl does. Supported: token, tokenFile,
// client-certificate(-data), client-key(-data), certificate-authority(-data),
// insecure-skip-tls-verify, tls-server-name. exec, auth-provider, username/password,
// impersonation and proxy-url are refused with an error naming the field.
// Errors: kInvalidArgument naming the file and the field; kNotFound when the file is missing.
absl::StatusOr<KubeConfig> loadKubeconfig(const std::string& path, const std::string& context = "");

// The parser behind loadKubeconfig: `yaml` is the file's content, `path` names it in messages and
// locates relative paths. Referenced files are checked readable, never echoed.
absl::StatusOr<KubeConfig> parseKubeconfig(std::string_view yaml, const std::string& path,
                                           const std::string& context = "");

// @return the kubeconfig to use when none was named: the first entry of $KUBECONFIG, else
// $HOME/.kube/config; empty when neither is set.
std::string defaultKubeconfigPath(const ConfigEnvironment& env = {});

// controller-runtime's order: `kubeconfig_flag` when given, then $KUBECONFIG, then in-cluster,
// then ~/.kube/config.
absl::StatusOr<KubeConfig> loadDefaultConfig(const std::string& kubeconfig_flag,
                                             const std::string& context = "",
                                             const ConfigEnvironment& env = {});

}  // namespace secretsync::kube
