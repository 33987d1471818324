#include "pkg/common/http/http_client_pool.h"

#include <initializer_list>
#include <memory>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "pkg/common/http/curl_http_client.h"
#include "test/support/test_pki.h"

namespace secretsync::common::http {
namespace {

// libcurl's global state, set up before main() and before any thread, as CurlGlobal requires.
const CurlGlobal kCurlGlobal;

class HttpClientPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = test::TestPki::generate();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }
  TlsOptions withCa(const std::string& ca_pem) const {
    TlsOptions tls;
    tls.ca_pem = ca_pem;
    return tls;
  }
  test::TestPki pki_;
};

TEST_F(HttpClientPoolTest, SameSettingsShareOneClient) {
  HttpClientPool pool({});
  auto a = pool.clientFor(withCa(pki_.ca.cert_pem));
  auto b = pool.clientFor(withCa(pki_.ca.cert_pem));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->get(), b->get());
}

// Each field that changes what the client trusts or who it is gets its own client.
TEST_F(HttpClientPoolTest, AnyDifferenceInTrustOrIdentityGetsItsOwnClient) {
  HttpClientPool pool({});
  const TlsOptions base = withCa(pki_.ca.cert_pem);
  TlsOptions other_ca = withCa(pki_.other_ca.cert_pem);
  TlsOptions named = base;
  named.server_name = "vault.test";
  TlsOptions insecure = base;
  insecure.insecure_skip_verify = true;
  TlsOptions client = base;
  client.client_cert_pem = pki_.client.cert_pem;
  client.client_key_pem = SecretString(pki_.client.key_pem);
  // Same certificate, another key: a different identity, never the first one's connections.
  TlsOptions other_key = client;
  other_key.client_key_pem = SecretString(pki_.server.key_pem);

  std::set<HttpClient*> clients;
  for (const TlsOptions* tls : std::initializer_list<const TlsOptions*>{
           &base, &other_ca, &named, &insecure, &client, &other_key}) {
    auto made = pool.clientFor(*tls);
    ASSERT_TRUE(made.ok()) << made.status();
    clients.insert(made->get());
  }
  EXPECT_EQ(clients.size(), 6u);
}

TEST_F(HttpClientPoolTest, UnreadableMaterialIsAnErrorAndNotCached) {
  HttpClientPool pool({});
  TlsOptions tls;
  tls.ca_file = "/nonexistent/ca.pem";
  auto made = pool.clientFor(tls);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(pool.clientFor(tls).ok());
}

// Past the bound the pool forgets a client; holders keep theirs alive, and a new request for the
// forgotten settings gets a fresh client.
TEST_F(HttpClientPoolTest, BoundedHoldersKeepEvictedClients) {
  HttpClientPool pool({.max_clients = 2});
  TlsOptions first = withCa(pki_.ca.cert_pem);
  auto held = pool.clientFor(first);
  ASSERT_TRUE(held.ok());
  for (const char* name : {"a.test", "b.test", "c.test"}) {
    TlsOptions tls = first;
    tls.server_name = name;
    ASSERT_TRUE(pool.clientFor(tls).ok());
  }
  std::shared_ptr<HttpClient> kept = *held;
  EXPECT_EQ(kept.use_count(), 2);  // `held` and `kept`: the pool let go of it
  auto again = pool.clientFor(first);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->get(), kept.get());
}

}  // namespace
}  // namespace secretsync::common::http
