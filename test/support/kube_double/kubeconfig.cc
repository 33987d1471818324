#include "test/support/kube_double/kubeconfig.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace secretsync::test::kube {

std::string renderKubeconfig(const KubeconfigSpec& spec) {
  std::string cluster = absl::StrCat("    server: \"", spec.server, "\"\n");
  if (!spec.ca_pem.empty()) {
    absl::StrAppend(&cluster, "    certificate-authority-data: ", absl::Base64Escape(spec.ca_pem),
                    "\n");
  } else if (absl::StartsWith(spec.server, "https://")) {
    absl::StrAppend(&cluster, "    insecure-skip-tls-verify: true\n");
  }
  return absl::StrCat("apiVersion: v1\n", "kind: Config\n", "clusters:\n", "- name: kube-double\n",
                      "  cluster:\n", cluster, "users:\n", "- name: ", spec.user, "\n", "  user:\n",
                      "    token: \"", spec.token, "\"\n", "contexts:\n", "- name: kube-double\n",
                      "  context:\n", "    cluster: kube-double\n", "    user: ", spec.user, "\n",
                      "    namespace: ", spec.namespace_name, "\n",
                      "current-context: kube-double\n");
}

}  // namespace secretsync::test::kube
