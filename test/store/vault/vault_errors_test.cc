#include "pkg/store/vault/vault_errors.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/store/store_client.h"
#include "test/mocks/store/vault/fake_vault_transport.h"

namespace secretsync::store::vault {
namespace {

using test::vaultReply;
using ::testing::HasSubstr;
using ::testing::Not;

struct MappingCase {
  int status;
  const char* body;
  absl::StatusCode code;
};

class StatusMappingTest : public ::testing::TestWithParam<MappingCase> {};

TEST_P(StatusMappingTest, MapsStatusToCode) {
  const MappingCase& c = GetParam();
  const absl::Status status = statusFromReply(vaultReply(c.status, c.body), "read", "secret/db");
  EXPECT_EQ(status.code(), c.code) << c.status << " " << c.body;
  if (!status.ok()) {
    EXPECT_THAT(status.message(), HasSubstr("secret/db"));
    EXPECT_THAT(status.message(), HasSubstr("read"));
    EXPECT_THAT(status.message(), HasSubstr("HTTP " + std::to_string(c.status)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, StatusMappingTest,
    ::testing::Values(
        MappingCase{200, R"({"data":{}})", absl::StatusCode::kOk},
        MappingCase{204, "", absl::StatusCode::kOk},
        MappingCase{400, R"({"errors":["no data provided"]})", absl::StatusCode::kInvalidArgument},
        MappingCase{401, R"({"errors":["invalid token"]})", absl::StatusCode::kPermissionDenied},
        MappingCase{403, R"({"errors":["1 error occurred:\n\t* permission denied\n\n"]})",
                    absl::StatusCode::kPermissionDenied},
        MappingCase{403, R"({"errors":["permission denied","invalid token"]})",
                    absl::StatusCode::kUnauthenticated},
        MappingCase{
            403,
            R"({"errors":["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"]})",
            absl::StatusCode::kUnauthenticated},
        MappingCase{403, R"({"errors":["Invalid Token"]})", absl::StatusCode::kUnauthenticated},
        MappingCase{404, R"({"errors":[]})", absl::StatusCode::kNotFound},
        MappingCase{404, "", absl::StatusCode::kNotFound},
        MappingCase{405, R"({"errors":[]})", absl::StatusCode::kUnimplemented},
        MappingCase{412, R"({"errors":["missing \"X-Vault-Request\" header"]})",
                    absl::StatusCode::kUnavailable},
        MappingCase{429, R"({"errors":["rate limit quota exceeded"]})",
                    absl::StatusCode::kUnavailable},
        MappingCase{500, "", absl::StatusCode::kUnavailable},
        MappingCase{501, "", absl::StatusCode::kFailedPrecondition},
        MappingCase{502, "", absl::StatusCode::kUnavailable},
        MappingCase{503, R"({"errors":["Vault is sealed"]})", absl::StatusCode::kUnavailable},
        MappingCase{504, "", absl::StatusCode::kUnavailable},
        MappingCase{307, "", absl::StatusCode::kUnknown},
        MappingCase{409, "", absl::StatusCode::kUnknown},
        MappingCase{413, "", absl::StatusCode::kUnknown},
        MappingCase{415, "", absl::StatusCode::kUnknown},
        MappingCase{423, "", absl::StatusCode::kUnknown},
        MappingCase{0, "", absl::StatusCode::kUnknown}));

TEST(StatusFromReplyTest, NotFoundCarriesMissingReason) {
  const absl::Status status = statusFromReply(vaultReply(404, R"({"errors":[]})"), "read", "x");
  EXPECT_EQ(notFoundReason(status), NotFoundReason::Missing);
}

TEST(StatusFromReplyTest, StripsMultierrorWrapping) {
  const absl::Status status = statusFromReply(
      vaultReply(403, R"({"errors":["1 error occurred:\n\t* permission denied\n\n"]})"), "read",
      "secret/db");
  EXPECT_EQ(status.message(), "vault read secret/db: HTTP 403: permission denied");
}

TEST(StatusFromReplyTest, JoinsSeveralErrorsAndListItems) {
  const absl::Status status = statusFromReply(
      vaultReply(400, R"({"errors":["2 errors occurred:\n\t* first\n\t* second\n\n","third"]})"),
      "write", "secret/db");
  EXPECT_EQ(status.message(), "vault write secret/db: HTTP 400: first; second; third");
}

TEST(StatusFromReplyTest, KeepsPlainMessagesAndFlattensNewlines) {
  const absl::Status status = statusFromReply(
      vaultReply(400,
                 R"({"errors":["check-and-set parameter did not match\nthe current version"]})"),
      "write", "secret/db");
  EXPECT_EQ(status.message(),
            "vault write secret/db: HTTP 400: check-and-set parameter did not match the current "
            "version");
}

TEST(StatusFromReplyTest, NoErrorsKeyNoMessage) {
  const absl::Status status = statusFromReply(vaultReply(500, ""), "read", "secret/db");
  EXPECT_EQ(status.message(), "vault read secret/db: HTTP 500");
}

TEST(StatusFromReplyTest, TruncatesLongMessages) {
  const std::string huge(100'000, 'x');
  const absl::Status status = statusFromReply(
      vaultReply(400, R"({"errors":[")" + huge + R"(", ")" + huge + R"("]})"), "read", "p");
  EXPECT_LT(status.message().size(), 700u);
  EXPECT_THAT(status.message(), HasSubstr("..."));
}

TEST(StatusFromReplyTest, TruncationKeepsUtf8Whole) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "\xc3\xbc";  // ü
  }
  const absl::Status status =
      statusFromReply(vaultReply(400, R"({"errors":[")" + text + R"("]})"), "read", "p");
  // Re-parsing as JSON validates the UTF-8.
  EXPECT_NO_THROW((void)nlohmann::json(std::string(status.message())).dump());
}

TEST(StatusFromReplyTest, ManyErrorsAreBounded) {
  nlohmann::json body = {{"errors", nlohmann::json::array()}};
  for (int i = 0; i < 1000; ++i) {
    body["errors"].push_back("e" + std::to_string(i));
  }
  VaultReply reply;
  reply.status = 400;
  reply.body = body;
  const absl::Status status = statusFromReply(reply, "read", "p");
  EXPECT_THAT(status.message(), HasSubstr("e7"));
  EXPECT_THAT(status.message(), Not(HasSubstr("e8;")));
  EXPECT_THAT(status.message(), Not(HasSubstr("e999")));
}

TEST(StatusFromReplyTest, NeverQuotesTheBody) {
  // A raw KV 404 envelope (soft-deleted version) and an OpenBao errors+data reply: only `errors`
  // strings may appear in the message.
  const absl::Status deleted = statusFromReply(
      vaultReply(
          404,
          R"({"data":{"data":{"password":"hunter2"},"metadata":{"deletion_time":"2024-01-01T00:00:00Z"}}})"),
      "read", "secret/db");
  EXPECT_THAT(deleted.message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(deleted.message(), Not(HasSubstr("deletion_time")));
  const absl::Status with_data = statusFromReply(
      vaultReply(400, R"({"errors":["bad"],"data":{"token":"hvs.abc"}})"), "read", "secret/db");
  EXPECT_EQ(with_data.message(), "vault read secret/db: HTTP 400: bad");
}

TEST(StatusFromReplyTest, OddBodies) {
  for (const char* body : {R"([])", R"("text")", R"({"errors":"x"})", R"({"errors":[1,null,{}]})",
                           R"({"errors":["3 errors occurred:\n"]})",
                           R"({"errors":["0 errors occurred:\n\t* x\n\n"]})"}) {
    const absl::Status status = statusFromReply(vaultReply(400, body), "read", "p");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << body;
  }
}

}  // namespace
}  // namespace secretsync::store::vault
