#include "pkg/store/vault/auth_reply.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/mocks/store/vault/auth_fakes.h"

namespace secretsync::store::vault {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kWhat[] = "auth/kubernetes/login";

nlohmann::json loginBody() { return test::authReply("hvs.CAESIsecret", 2764800, true).body; }

TEST(ParseAuthBlockTest, ReadsTokenLeaseAndRenewable) {
  const absl::StatusOr<LoginResult> result = parseAuthBlock(loginBody(), kWhat);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->token.reveal(), "hvs.CAESIsecret");
  EXPECT_EQ(result->lease_duration, std::chrono::seconds(2764800));
  EXPECT_TRUE(result->renewable);
}

TEST(ParseAuthBlockTest, ReadsAReplyAsItComesOffTheWire) {
  // Parsed JSON holds positive numbers as unsigned, unlike JSON built in code.
  const nlohmann::json body = nlohmann::json::parse(R"({"request_id":"r","lease_id":"",
    "renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,
    "auth":{"client_token":"s.wire","accessor":"a","policies":["default"],"metadata":null,
    "lease_duration":2764800,"renewable":true,"entity_id":"","token_type":"service",
    "orphan":true,"mfa_requirement":null,"num_uses":0}})");
  const absl::StatusOr<LoginResult> result = parseAuthBlock(body, kWhat);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->token.reveal(), "s.wire");
  EXPECT_EQ(result->lease_duration, std::chrono::hours(768));
  EXPECT_TRUE(result->renewable);
}

TEST(ParseAuthBlockTest, AbsentRenewableIsFalse) {
  nlohmann::json body = loginBody();
  body["auth"].erase("renewable");
  const absl::StatusOr<LoginResult> result = parseAuthBlock(body, kWhat);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->renewable);
}

TEST(ParseAuthBlockTest, WholeFloatLeaseIsAccepted) {
  nlohmann::json body = loginBody();
  body["auth"]["lease_duration"] = 3600.0;
  const absl::StatusOr<LoginResult> result = parseAuthBlock(body, kWhat);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->lease_duration, std::chrono::seconds(3600));
}

TEST(ParseAuthBlockTest, MissingOrNullAuthIsDataLoss) {
  for (const nlohmann::json& body :
       {nlohmann::json{{"data", nullptr}}, nlohmann::json{{"auth", nullptr}},
        nlohmann::json::array(), nlohmann::json(), nlohmann::json("text")}) {
    const absl::StatusOr<LoginResult> result = parseAuthBlock(body, kWhat);
    ASSERT_FALSE(result.ok()) << body.dump();
    EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(result.status().message(), HasSubstr("auth"));
    EXPECT_THAT(result.status().message(), HasSubstr(kWhat));
  }
}

struct Malformed {
  std::string field;
  nlohmann::json value;
  std::string named;
};

TEST(ParseAuthBlockTest, WrongTypesAreDataLossNamingTheField) {
  const Malformed cases[] = {
      {"", nlohmann::json("not-an-object"), "`auth`"},
      {"client_token", nlohmann::json(42), "auth.client_token"},
      {"client_token", nlohmann::json(""), "auth.client_token"},
      {"client_token", nlohmann::json(nullptr), "auth.client_token"},
      {"lease_duration", nlohmann::json("768h"), "auth.lease_duration"},
      {"lease_duration", nlohmann::json(-5), "auth.lease_duration"},
      {"lease_duration", nlohmann::json(1.5), "auth.lease_duration"},
      {"lease_duration", nlohmann::json(nullptr), "auth.lease_duration"},
      {"lease_duration", nlohmann::json(1e30), "auth.lease_duration"},
      {"renewable", nlohmann::json("true"), "auth.renewable"},
  };
  for (const Malformed& c : cases) {
    nlohmann::json body = loginBody();
    if (c.field.empty()) {
      body["auth"] = c.value;
    } else {
      body["auth"][c.field] = c.value;
    }
    const absl::StatusOr<LoginResult> result = parseAuthBlock(body, kWhat);
    ASSERT_FALSE(result.ok()) << c.named << " " << c.value.dump();
    EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(result.status().message(), HasSubstr(c.named));
    EXPECT_THAT(result.status().message(), Not(HasSubstr("hvs.CAESIsecret")));
  }
}

TEST(ParseAuthBlockTest, MissingLeaseIsNotNeverExpires) {
  nlohmann::json body = loginBody();
  body["auth"].erase("lease_duration");
  const absl::StatusOr<LoginResult> result = parseAuthBlock(body, kWhat);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("auth.lease_duration"));
}

TEST(ParseLookupSelfTest, ReadsTtlAndRenewable) {
  const absl::StatusOr<TokenLookup> lookup =
      parseLookupSelf(test::lookupSelfReply(3600, true).body, "auth/token/lookup-self");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->ttl, std::chrono::seconds(3600));
  EXPECT_TRUE(lookup->renewable);
}

TEST(ParseLookupSelfTest, RootTokenNeverExpires) {
  const absl::StatusOr<TokenLookup> lookup =
      parseLookupSelf(test::lookupSelfReply(0, std::nullopt).body, "auth/token/lookup-self");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->ttl, std::chrono::seconds(0));
  EXPECT_FALSE(lookup->renewable);
}

TEST(ParseLookupSelfTest, ZeroTtlWithExpireTimeIsAboutToExpire) {
  nlohmann::json body = test::lookupSelfReply(0, true).body;
  body["data"]["expire_time"] = "2027-01-15T10:00:00Z";
  const absl::StatusOr<TokenLookup> lookup = parseLookupSelf(body, "auth/token/lookup-self");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->ttl, std::chrono::seconds(1));
}

TEST(ParseLookupSelfTest, MalformedIsDataLossNamingTheField) {
  struct Case {
    nlohmann::json body;
    std::string named;
  };
  nlohmann::json wrong_ttl = test::lookupSelfReply(60, true).body;
  wrong_ttl["data"]["ttl"] = "60s";
  nlohmann::json missing_ttl = test::lookupSelfReply(60, true).body;
  missing_ttl["data"].erase("ttl");
  nlohmann::json wrong_renewable = test::lookupSelfReply(60, true).body;
  wrong_renewable["data"]["renewable"] = 1;
  const Case cases[] = {
      {nlohmann::json{{"data", nullptr}}, "`data`"},
      {nlohmann::json{{"data", "x"}}, "`data`"},
      {nlohmann::json::array(), "`data`"},
      {wrong_ttl, "data.ttl"},
      {missing_ttl, "data.ttl"},
      {wrong_renewable, "data.renewable"},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<TokenLookup> lookup = parseLookupSelf(c.body, "auth/token/lookup-self");
    ASSERT_FALSE(lookup.ok()) << c.body.dump();
    EXPECT_EQ(lookup.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(lookup.status().message(), HasSubstr(c.named));
  }
}

}  // namespace
}  // namespace secretsync::store::vault
