#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "pkg/kube/kube_config.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/test_pki.h"

namespace secretsync::kube::kubetest {

inline constexpr char kTestToken[] = "test-token";
inline constexpr char kTestNamespace[] = "app";

// The test PKI, made once per test binary: key generation would dominate the run time.
inline const test::TestPki& testPki() {
  static const test::TestPki* const instance = [] {
    auto generated = test::TestPki::generate();
    EXPECT_TRUE(generated.ok()) << generated.status();
    return new test::TestPki(generated.ok() ? *std::move(generated) : test::TestPki{});
  }();
  return *instance;
}

// A Kubernetes API double over HTTPS that knows kTestToken, with namespace kTestNamespace.
inline std::unique_ptr<test::KubeDouble> startHttpsKubeDouble(
    std::chrono::milliseconds bookmark_interval) {
  test::KubeDoubleOptions options;
  options.tls = testPki().serverConfig();
  options.tokens = {{kTestToken, "tester"}};
  options.bookmark_interval = bookmark_interval;
  auto kd = test::KubeDouble::start(options);
  EXPECT_TRUE(kd.ok()) << kd.status();
  if (!kd.ok()) return nullptr;
  EXPECT_TRUE((*kd)->createNamespace(kTestNamespace).ok());
  return *std::move(kd);
}

// The configuration a client of `kube` uses: its URL, the test CA, kTestToken.
inline KubeConfig configFor(const test::KubeDouble& kube) {
  KubeConfig config;
  config.server = kube.baseUrl();
  config.tls.ca_pem = testPki().ca.cert_pem;
  config.token = common::SecretString(kTestToken);
  return config;
}

}  // namespace secretsync::kube::kubetest
