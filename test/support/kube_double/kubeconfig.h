#pragma once

#include <string>

namespace secretsync::test::kube {

// What a kubeconfig for the double holds.
struct KubeconfigSpec {
  std::string server;  // "https://127.0.0.1:PORT"
  std::string token;
  std::string ca_pem;  // empty: no CA data (HTTP, or insecure-skip-tls-verify when https)
  std::string user = "kube-double-user";
  std::string namespace_name = "default";
};

// @return a kubeconfig YAML with one cluster, user and context ("kube-double"), current.
std::string renderKubeconfig(const KubeconfigSpec& spec);

}  // namespace secretsync::test::kube
