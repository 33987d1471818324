// Hostile Vault replies, one table row each, through the real client (VaultStore: libcurl,
// transport, token manager, KV client) against the Vault double with fault rules, or against a
// raw peer that misbehaves below HTTP. Every row checks that the error names what was wrong, that
// no token or secret value is in it or in the debug log, and that the same store still serves a
// good read afterwards.

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/store/vault/vault_store.h"
#include "test/hostile/hostile_table.h"
#include "test/support/http_server.h"
#include "test/support/manual_clock.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::hostile {
namespace {

using std::chrono::milliseconds;
using store::vault::AppRoleAuthConfig;
using store::vault::TokenAuthConfig;
using store::vault::VaultStore;
using store::vault::VaultStoreConfig;
using test::vault::FaultRule;
using ::testing::HasSubstr;
using ::testing::Not;

const common::http::CurlGlobal kCurlGlobal;

constexpr char kRootToken[] = "SENTINEL-ROOT-TOKEN-7f3a9c";
constexpr char kGoodValue[] = "SENTINEL-GOOD-VALUE";
// A role-id is an identifier (messages name it); the secret-id is the credential.
constexpr char kRoleId[] = "role-id-51d2";
constexpr char kSecretId[] = "SENTINEL-SECRET-ID-a0c4";
// Every hostile fault applies to reads of this path only; "secret/app/good" stays served.
constexpr char kHostilePath[] = "secret/app/hostile";
constexpr char kHostileDataPath[] = "secret/data/app/hostile";
// The client timeout of the slow-peer rows.
constexpr milliseconds kSlowPeerTimeout{1000};

class VaultHostileTest;

// One hostile input: `act` plants it and returns the status the client ends with.
struct VaultRow {
  std::string name;
  std::function<absl::Status(VaultHostileTest&)> act;
  Expected expected;
  // Errors quoting the server are bounded: the message is at most this long.
  size_t max_message_bytes = 1024;
};
// ctest names each case by its row; the row prints as its name only.
void PrintTo(const VaultRow& row, std::ostream* os) { *os << row.name; }

class VaultHostileTest : public ::testing::TestWithParam<VaultRow> {
 public:
  void SetUp() override {
    test::VaultDoubleOptions options;
    options.clock = &clock_;
    options.root_token = kRootToken;
    auto vault = test::VaultDouble::start(options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(vault_->putSecret("secret", "app/good", {{"password", kGoodValue}}).ok());
    ASSERT_TRUE(
        vault_->putSecret("secret", "app/hostile", {{"password", "SENTINEL-OLD-VALUE"}}).ok());
    store_ = makeStore(TokenAuthConfig{common::SecretString(kRootToken)});
  }

  // A store of the double's address; no retries unless asked. The timeout is generous (the large
  // rows take seconds under sanitizers on a loaded machine) but for the slow-peer rows, which
  // pass kSlowPeerTimeout so they take about a second.
  std::unique_ptr<VaultStore> makeStore(store::vault::AuthConfig auth, int max_retries = 0,
                                        milliseconds timeout = milliseconds(30'000)) {
    VaultStoreConfig config;
    config.address = vault_->baseUrl();
    config.auth = std::move(auth);
    config.transport.max_retries = max_retries;
    config.transport.request_timeout = timeout;
    auto store = VaultStore::create(std::move(config), clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Serves `fault` for reads of the hostile path and reads it with the shared store.
  absl::Status hostileRead(FaultRule fault) {
    fault.path_prefix = kHostileDataPath;
    vault_->addFault(std::move(fault));
    return store_->read({.path = kHostilePath}).status();
  }

  absl::Status hostileReply(int status, std::string body) {
    FaultRule fault;
    fault.status = status;
    fault.body = std::move(body);
    return hostileRead(std::move(fault));
  }

  test::ManualClock clock_;
  std::unique_ptr<test::VaultDouble> vault_;
  std::unique_ptr<VaultStore> store_;
};

std::string kvReply(const nlohmann::json& data, const nlohmann::json& metadata = {{"version", 1}}) {
  return nlohmann::json{{"data", {{"data", data}, {"metadata", metadata}}}}.dump();
}

std::string errorsReply(const std::vector<std::string>& errors) {
  return nlohmann::json{{"errors", errors}}.dump();
}

// A peer on loopback serving a valid KV v2 reply's headers and then one body byte every 200 ms.
std::unique_ptr<test::HttpServer> slowBodyServer() {
  auto server = test::HttpServer::start({}, [](const test::HttpServerRequest&) {
    test::HttpServerResponse response;
    response.headers.emplace_back("Content-Type", "application/json");
    response.stream = [](test::StreamWriter& writer) {
      const std::string body = kvReply({{"password", "SENTINEL-SLOW"}});
      for (const char c : body) {
        if (!writer.write(std::string(1, c))) return;
        for (int i = 0; i < 20 && !writer.closed(); ++i) {
          std::this_thread::sleep_for(milliseconds(10));
        }
      }
    };
    return response;
  });
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// A store that reads `address` as KV v2 at mount "secret", so no preflight is needed.
absl::Status readFromPeer(VaultHostileTest& t, const std::string& address) {
  VaultStoreConfig config;
  config.address = address;
  config.auth = TokenAuthConfig{common::SecretString(kRootToken)};
  config.kv_version = store::vault::KvVersion::kV2;
  config.mount = "secret";
  config.transport.max_retries = 0;
  config.transport.request_timeout = kSlowPeerTimeout;
  auto store = VaultStore::create(std::move(config), t.clock_);
  if (!store.ok()) return store.status();
  return (*store)->read({.path = kHostilePath}).status();
}

std::vector<VaultRow> rows() {
  using absl::StatusCode;
  std::vector<VaultRow> r;
  r.push_back({"reply_of_64_mib",
               [](VaultHostileTest& t) {
                 // Built by hand: dumping a 64 MiB string through nlohmann::json costs seconds.
                 return t.hostileReply(200, R"({"data":{"data":{"password":"SENTINEL-)" +
                                                std::string(64u << 20, 'x') +
                                                R"("},"metadata":{"version":1}}})");
               },
               {StatusCode::kResourceExhausted, {kHostileDataPath, "larger than"}}});
  r.push_back({"json_nested_100k_levels",
               [](VaultHostileTest& t) {
                 return t.hostileReply(200, std::string(100'000, '[') + "\"SENTINEL-DEEP\"" +
                                                std::string(100'000, ']'));
               },
               {StatusCode::kDataLoss, {kHostileDataPath, "nests too deeply"}}});
  r.push_back({"truncated_json",
               [](VaultHostileTest& t) {
                 return t.hostileReply(200, R"({"data":{"data":{"password":"SENTINEL-TRUNC)");
               },
               {StatusCode::kDataLoss, {kHostileDataPath, "not JSON"}}});
  r.push_back({"html_instead_of_json",
               [](VaultHostileTest& t) {
                 return t.hostileReply(200, "<html><body>SENTINEL-HTML</body></html>");
               },
               {StatusCode::kDataLoss, {kHostileDataPath, "not JSON"}}});
  r.push_back({"invalid_utf8_in_value",
               [](VaultHostileTest& t) {
                 return t.hostileReply(200,
                                       "{\"data\":{\"data\":{\"password\":\"SENTINEL-\xff\xfe"
                                       "\"},\"metadata\":{\"version\":1}}}");
               },
               {StatusCode::kDataLoss, {kHostileDataPath, "not JSON"}}});
  r.push_back({"invalid_utf8_in_key",
               [](VaultHostileTest& t) {
                 return t.hostileReply(200,
                                       "{\"data\":{\"data\":{\"pass\xc3\x28\":\"SENTINEL-K"
                                       "\"},\"metadata\":{\"version\":1}}}");
               },
               {StatusCode::kDataLoss, {kHostileDataPath, "not JSON"}}});
  r.push_back({"data_is_an_array",
               [](VaultHostileTest& t) {
                 return t.hostileReply(200, kvReply(nlohmann::json::array({"SENTINEL-ARR"})));
               },
               {StatusCode::kDataLoss, {kHostilePath, "data.data"}}});
  r.push_back({"data_is_a_string",
               [](VaultHostileTest& t) { return t.hostileReply(200, kvReply("SENTINEL-STR")); },
               {StatusCode::kDataLoss, {kHostilePath, "data.data"}}});
  r.push_back({"data_missing",
               [](VaultHostileTest& t) { return t.hostileReply(200, R"({"warnings":null})"); },
               {StatusCode::kNotFound, {kHostilePath, "not found"}}});
  r.push_back({"body_is_null",
               [](VaultHostileTest& t) { return t.hostileReply(200, "null"); },
               {StatusCode::kNotFound, {kHostilePath, "not found"}}});
  r.push_back(
      {"version_is_a_string",
       [](VaultHostileTest& t) {
         return t.hostileReply(200, kvReply({{"password", "SENTINEL-VS"}}, {{"version", "two"}}));
       },
       {StatusCode::kDataLoss, {kHostilePath, "version"}}});
  r.push_back({"version_beyond_int64",
               [](VaultHostileTest& t) {
                 return t.hostileReply(
                     200, R"({"data":{"data":{"password":"SENTINEL-BIG"},)"
                          R"("metadata":{"version":123456789012345678901234567890}}})");
               },
               {StatusCode::kDataLoss, {kHostilePath, "version"}}});
  r.push_back(
      {"version_negative",
       [](VaultHostileTest& t) {
         return t.hostileReply(200, kvReply({{"password", "SENTINEL-NEG"}}, {{"version", -7}}));
       },
       {StatusCode::kDataLoss, {kHostilePath, "version"}}});
  r.push_back({"error_body_quotes_the_token",
               [](VaultHostileTest& t) {
                 return t.hostileReply(
                     403, errorsReply({absl::StrCat("permission denied for token ", kRootToken)}));
               },
               {StatusCode::kPermissionDenied, {kHostilePath, "HTTP 403", "<redacted>"}}});
  r.push_back({"multierror_quotes_the_token",
               [](VaultHostileTest& t) {
                 return t.hostileReply(
                     500, errorsReply({absl::StrCat(
                              "1 error occurred:\n\t* backend echoed X-Vault-Token: ", kRootToken,
                              "\n\n")}));
               },
               {StatusCode::kUnavailable, {kHostilePath, "HTTP 500", "<redacted>"}}});
  // Without redaction before shortening, the quoted message would be cut inside the token and
  // leave its first half.
  r.push_back({"token_straddles_the_quote_limit",
               [](VaultHostileTest& t) {
                 return t.hostileReply(
                     400, errorsReply({std::string(240, 'x') + " token=" + kRootToken}));
               },
               {StatusCode::kInvalidArgument, {kHostilePath, "HTTP 400", "token=<redacted"}}});
  r.push_back({"error_flood_2k_entries_of_1_kib",
               [](VaultHostileTest& t) {
                 return t.hostileReply(
                     400, errorsReply(std::vector<std::string>(2'000, std::string(1024, 'e'))));
               },
               {StatusCode::kInvalidArgument, {kHostilePath, "HTTP 400", "..."}}});
  r.push_back({"error_with_control_characters",
               [](VaultHostileTest& t) {
                 return t.hostileReply(
                     400, errorsReply({"bad\n2026-01-01 INFO forged line\r\x1b[31mred\x07"}));
               },
               {StatusCode::kInvalidArgument, {kHostilePath, "forged line"}}});
  r.push_back({"not_found_envelope_holding_data",
               [](VaultHostileTest& t) {
                 return t.hostileReply(404, kvReply({{"password", "SENTINEL-404"}}));
               },
               {StatusCode::kNotFound, {kHostilePath}}});
  r.push_back({"proxy_html_502",
               [](VaultHostileTest& t) {
                 return t.hostileReply(502, "<html>bad gateway SENTINEL-PROXY</html>");
               },
               {StatusCode::kUnavailable, {kHostilePath, "HTTP 502"}}});
  r.push_back({"status_code_599",
               [](VaultHostileTest& t) { return t.hostileReply(599, errorsReply({})); },
               {StatusCode::kUnavailable, {kHostilePath, "HTTP 599"}}});
  r.push_back({"status_code_299_not_json",
               [](VaultHostileTest& t) { return t.hostileReply(299, "SENTINEL-299"); },
               {StatusCode::kDataLoss, {kHostileDataPath, "HTTP 299"}}});
  r.push_back({"retry_after_beyond_int64",
               [](VaultHostileTest& t) {
                 auto store = t.makeStore(TokenAuthConfig{common::SecretString(kRootToken)}, 1);
                 FaultRule fault = FaultRule::rateLimited("99999999999999999999999");
                 fault.path_prefix = kHostileDataPath;
                 t.vault_->addFault(fault);
                 const absl::Status status = store->read({.path = kHostilePath}).status();
                 // One retry, waiting at most the transport's cap, never "forever".
                 EXPECT_LE(t.clock_.totalSlept(), std::chrono::seconds(30));
                 return status;
               },
               {StatusCode::kUnavailable, {kHostilePath, "HTTP 429"}}});
  r.push_back({"redirect_to_another_host",
               [](VaultHostileTest& t) {
                 test::VaultDoubleOptions options;
                 options.clock = &t.clock_;
                 options.root_token = kRootToken;
                 auto other = test::VaultDouble::start(options);
                 EXPECT_TRUE(other.ok());
                 FaultRule fault;
                 fault.redirect_to = (*other)->baseUrl();
                 const absl::Status status = t.hostileRead(fault);
                 // The token never reached the other host.
                 EXPECT_EQ((*other)->requestCount(), 0u);
                 return status;
               },
               {StatusCode::kFailedPrecondition, {kHostileDataPath, "another host"}}});
  r.push_back({"redirect_to_file_url",
               [](VaultHostileTest& t) {
                 FaultRule fault;
                 fault.status = 307;
                 fault.headers = {{"Location", "file:///etc/shadow"}};
                 return t.hostileRead(fault);
               },
               {StatusCode::kFailedPrecondition, {kHostileDataPath, "non-http(s)"}}});
  r.push_back({"redirect_loop",
               [](VaultHostileTest& t) {
                 FaultRule fault;
                 fault.redirect_to = t.vault_->baseUrl();
                 return t.hostileRead(fault);
               },
               {StatusCode::kUnknown, {kHostilePath, "HTTP 307"}}});
  r.push_back({"slow_loris_body_byte_every_200ms",
               [](VaultHostileTest& t) {
                 auto peer = slowBodyServer();
                 return readFromPeer(t, peer->baseUrl());
               },
               {StatusCode::kDeadlineExceeded, {"lookup-self", "timed out"}}});
  r.push_back({"slow_loris_status_line_byte_every_200ms",
               [](VaultHostileTest& t) {
                 TricklingServer peer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nSENTINEL-T");
                 return readFromPeer(t, peer.baseUrl());
               },
               {StatusCode::kDeadlineExceeded, {"lookup-self", "timed out"}}});
  r.push_back({"reply_later_than_the_timeout",
               [](VaultHostileTest& t) {
                 auto store = t.makeStore(TokenAuthConfig{common::SecretString(kRootToken)}, 0,
                                          kSlowPeerTimeout);
                 FaultRule fault = FaultRule::latencyOnly(milliseconds(3000));
                 fault.path_prefix = kHostileDataPath;
                 t.vault_->addFault(fault);
                 return store->read({.path = kHostilePath}).status();
               },
               {StatusCode::kDeadlineExceeded, {kHostileDataPath, "timed out"}}});
  r.push_back({"connection_reset",
               [](VaultHostileTest& t) { return t.hostileRead(FaultRule::dropConnection()); },
               {StatusCode::kUnavailable, {kHostileDataPath}}});
  r.push_back({"login_error_quotes_the_secret_id",
               [](VaultHostileTest& t) {
                 EXPECT_TRUE(t.vault_
                                 ->addAppRole({.name = "app",
                                               .role_id = kRoleId,
                                               .secret_ids = {kSecretId},
                                               .policies = {"root"},
                                               .token_ttl = std::chrono::seconds(600)})
                                 .ok());
                 FaultRule fault = FaultRule::error(
                     400, absl::StrCat("invalid secret id ", kSecretId, " for role id ", kRoleId));
                 fault.path_prefix = "auth/approle/login";
                 t.vault_->addFault(fault);
                 auto store = t.makeStore(AppRoleAuthConfig{
                     .role_id = kRoleId, .secret_id = common::SecretString(kSecretId)});
                 return store->read({.path = kHostilePath}).status();
               },
               {StatusCode::kInvalidArgument,
                {"approle login", "HTTP 400", "invalid secret id <redacted>"}}});
  r.push_back({"login_reply_without_client_token",
               [](VaultHostileTest& t) {
                 FaultRule fault;
                 fault.status = 200;
                 fault.body = R"({"auth":{"lease_duration":600,"renewable":true}})";
                 fault.path_prefix = "auth/approle/login";
                 t.vault_->addFault(fault);
                 auto store = t.makeStore(AppRoleAuthConfig{
                     .role_id = kRoleId, .secret_id = common::SecretString(kSecretId)});
                 return store->read({.path = kHostilePath}).status();
               },
               {StatusCode::kDataLoss, {"approle login", "auth.client_token"}}});
  r.push_back({"list_keys_are_not_strings",
               [](VaultHostileTest& t) {
                 FaultRule fault;
                 fault.status = 200;
                 fault.body = R"({"data":{"keys":[1,{"SENTINEL-L":2},null]}})";
                 fault.path_prefix = "secret/metadata/app";
                 t.vault_->addFault(fault);
                 return t.store_->list("secret/app/", false).status();
               },
               {StatusCode::kDataLoss, {"secret/app", "data.keys"}}});
  return r;
}

// Validate that each hostile reply gives a named error free of secrets, and that the store still
// serves the next good read with the right value.
TEST_P(VaultHostileTest, NamedErrorNoLeakStoreStillServes) {
  const VaultRow& row = GetParam();
  LogCapture log;
  const absl::Status status = row.act(*this);
  vault_->clearFaults();
  expectNamedError(status, row.expected, log.text(), {kRootToken, kSecretId, "SENTINEL-OLD-VALUE"});
  EXPECT_LE(status.message().size(), row.max_message_bytes);
  for (const char c : status.message()) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << "control byte in message";
  }
  auto good = store_->read({.path = "secret/app/good"});
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->data["password"], kGoodValue);
  // The good value is read, never logged.
  EXPECT_THAT(log.text(), Not(HasSubstr(kGoodValue)));
}

INSTANTIATE_TEST_SUITE_P(Rows, VaultHostileTest, ::testing::ValuesIn(rows()), rowName<VaultRow>);

}  // namespace
}  // namespace secretsync::hostile
