#include "pkg/store/vault/kv_response.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace secretsync::store::vault {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

json j(const char* text) { return json::parse(text); }

constexpr const char* kFound = R"({
  "request_id":"6f0e","lease_id":"","renewable":false,"lease_duration":0,
  "data":{"data":{"password":"hunter2","port":5432,"tls":true,"nested":{"a":[1,2]},"none":null},
          "metadata":{"created_time":"2018-03-22T02:24:06.945319214Z",
                      "custom_metadata":{"owner":"team-a"},
                      "deletion_time":"","destroyed":false,"version":2}},
  "wrap_info":null,"warnings":null,"auth":null,"mount_type":"kv"})";

TEST(ParseKvV2ReadTest, Found) {
  absl::StatusOr<KvV2Read> read = parseKvV2Read(j(kFound));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->state, KvReadState::kFound);
  EXPECT_EQ(read->secret.version, 2);
  EXPECT_EQ(read->secret.created_time, "2018-03-22T02:24:06.945319214Z");
  EXPECT_THAT(read->secret.custom_metadata, ElementsAre(Pair("owner", "team-a")));
  EXPECT_EQ(read->secret.data["password"], "hunter2");
  EXPECT_EQ(read->secret.data["port"], 5432);
  EXPECT_EQ(read->secret.data["tls"], true);
  EXPECT_EQ(read->secret.data["nested"]["a"][1], 2);
  EXPECT_TRUE(read->secret.data["none"].is_null());
  EXPECT_EQ(read->deletion_time, "");
}

TEST(ParseKvV2ReadTest, FutureDeletionTimeIsStillFound) {
  absl::StatusOr<KvV2Read> read = parseKvV2Read(j(
      R"({"data":{"data":{"a":"b"},"metadata":{"deletion_time":"2099-01-01T00:00:00Z","version":1}}})"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->state, KvReadState::kFound);
  EXPECT_EQ(read->deletion_time, "2099-01-01T00:00:00Z");
}

TEST(ParseKvV2ReadTest, SoftDeletedEnvelope) {
  absl::StatusOr<KvV2Read> read = parseKvV2Read(j(R"({
    "request_id":"r","lease_id":"","renewable":false,"lease_duration":0,
    "data":{"data":null,"metadata":{"created_time":"2024-01-01T00:00:00Z","custom_metadata":null,
            "deletion_time":"2024-02-01T00:00:00.5Z","destroyed":false,"version":3}},
    "wrap_info":null,"warnings":null,"auth":null})"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->state, KvReadState::kDeleted);
  EXPECT_EQ(read->secret.version, 3);
  EXPECT_TRUE(read->secret.custom_metadata.empty());
}

TEST(ParseKvV2ReadTest, DestroyedEnvelopeWinsOverDeletion) {
  absl::StatusOr<KvV2Read> read = parseKvV2Read(j(
      R"({"data":{"data":null,"metadata":{"deletion_time":"2024-02-01T00:00:00Z","destroyed":true,"version":4}}})"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->state, KvReadState::kDestroyed);
  EXPECT_EQ(read->secret.version, 4);
}

TEST(ParseKvV2ReadTest, MissingShapes) {
  for (const char* body :
       {R"({"errors":[]})", "null", R"({"data":null})",
        R"({"data":null,"warnings":["Invalid path for a versioned K/V secrets engine."]})",
        R"({"data":{"data":null,"metadata":{"deletion_time":"","destroyed":false,"version":1}}})",
        R"({"data":{}})"}) {
    absl::StatusOr<KvV2Read> read = parseKvV2Read(j(body));
    ASSERT_TRUE(read.ok()) << body;
    EXPECT_EQ(read->state, KvReadState::kMissing) << body;
  }
}

TEST(ParseKvV2ReadTest, WrongTypesAreDataLossNamingTheField) {
  struct Case {
    const char* body;
    const char* field;
  };
  for (const Case& c : {
           Case{R"([1,2])", "body"},
           Case{R"("x")", "body"},
           Case{R"({"data":[]})", "\"data\""},
           Case{R"({"data":{"data":"hunter2"}})", "data.data"},
           Case{R"({"data":{"data":[1]}})", "data.data"},
           Case{R"({"data":{"data":{},"metadata":"m"}})", "data.metadata"},
           Case{R"({"data":{"data":{},"metadata":{"version":"2"}}})", "data.metadata.version"},
           Case{R"({"data":{"data":{},"metadata":{"version":1.5}}})", "data.metadata.version"},
           Case{R"({"data":{"data":{},"metadata":{"version":18446744073709551615}}})",
                "data.metadata.version"},
           Case{R"({"data":{"data":{},"metadata":{"destroyed":"false"}}})",
                "data.metadata.destroyed"},
           Case{R"({"data":{"data":{},"metadata":{"deletion_time":0}}})",
                "data.metadata.deletion_time"},
           Case{R"({"data":{"data":{},"metadata":{"created_time":[]}}})",
                "data.metadata.created_time"},
           Case{R"({"data":{"data":{},"metadata":{"custom_metadata":{"k":1}}}})",
                "data.metadata.custom_metadata"},
           Case{R"({"data":{"data":{},"metadata":{"custom_metadata":["k"]}}})",
                "data.metadata.custom_metadata"},
       }) {
    absl::StatusOr<KvV2Read> read = parseKvV2Read(j(c.body));
    ASSERT_FALSE(read.ok()) << c.body;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << c.body;
    EXPECT_THAT(read.status().message(), HasSubstr(c.field)) << c.body;
    EXPECT_THAT(read.status().message(), Not(HasSubstr("hunter2")));
  }
}

TEST(ParseKvV1ReadTest, FlatData) {
  absl::StatusOr<Secret> secret = parseKvV1Read(j(
      R"({"request_id":"r","lease_id":"","renewable":false,"lease_duration":2764800,"data":{"user":"app","n":1},"wrap_info":null,"warnings":null,"auth":null})"));
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->data, j(R"({"user":"app","n":1})"));
  EXPECT_EQ(secret->version, 0);
  EXPECT_TRUE(secret->created_time.empty());
}

TEST(ParseKvV1ReadTest, BadShapes) {
  for (const char* body : {"null", R"({"data":null})", R"({"data":"x"})", "[]", "3"}) {
    absl::StatusOr<Secret> secret = parseKvV1Read(j(body));
    EXPECT_EQ(secret.status().code(), absl::StatusCode::kDataLoss) << body;
  }
}

TEST(ParseKvV2MetadataTest, FullReply) {
  absl::StatusOr<SecretMetadata> metadata = parseKvV2Metadata(j(R"({"data":{
    "cas_required":true,"created_time":"2024-01-01T00:00:00Z","current_version":3,
    "custom_metadata":{"owner":"a","tier":"1"},"delete_version_after":"3h25m19s",
    "max_versions":5,"oldest_version":2,"updated_time":"2024-01-03T00:00:00Z",
    "last_updated_by":{"actor":"root","operation":"create"},
    "current_metadata_version":1,
    "versions":{"2":{"created_time":"2024-01-02T00:00:00Z","deletion_time":"","destroyed":false,
                     "created_by":null},
                "3":{"created_time":"2024-01-03T00:00:00Z","deletion_time":"2024-01-04T00:00:00Z",
                     "destroyed":false},
                "10":{"created_time":"","deletion_time":"","destroyed":true}}}})"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_TRUE(metadata->cas_required);
  EXPECT_EQ(metadata->current_version, 3);
  EXPECT_EQ(metadata->oldest_version, 2);
  EXPECT_EQ(metadata->max_versions, 5);
  EXPECT_EQ(metadata->created_time, "2024-01-01T00:00:00Z");
  EXPECT_EQ(metadata->updated_time, "2024-01-03T00:00:00Z");
  EXPECT_THAT(metadata->custom_metadata, ElementsAre(Pair("owner", "a"), Pair("tier", "1")));
  ASSERT_EQ(metadata->versions.size(), 3u);
  EXPECT_EQ(metadata->versions.begin()->first, 2);
  EXPECT_EQ(metadata->versions.at(3).deletion_time, "2024-01-04T00:00:00Z");
  EXPECT_TRUE(metadata->versions.at(10).destroyed);
}

TEST(ParseKvV2MetadataTest, MinimalAndBad) {
  absl::StatusOr<SecretMetadata> empty = parseKvV2Metadata(j(R"({"data":{"versions":null}})"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->versions.empty());
  for (const char* body :
       {"null", R"({"data":null})", R"({"data":{"versions":[]}})",
        R"({"data":{"versions":{"one":{}}}})", R"({"data":{"versions":{"1":"x"}}})",
        R"({"data":{"versions":{"1":{"destroyed":1}}}})", R"({"data":{"current_version":"3"}})",
        R"({"data":{"cas_required":"true"}})",
        R"({"data":{"versions":{"99999999999999999999":{}}}})"}) {
    absl::StatusOr<SecretMetadata> metadata = parseKvV2Metadata(j(body));
    EXPECT_EQ(metadata.status().code(), absl::StatusCode::kDataLoss) << body;
  }
}

TEST(ParseListKeysTest, KeysAndOddShapes) {
  absl::StatusOr<std::vector<std::string>> keys =
      parseListKeys(j(R"({"data":{"keys":["b","a/","a"]},"lease_duration":0})"));
  ASSERT_TRUE(keys.ok());
  EXPECT_THAT(*keys, ElementsAre("b", "a/", "a"));
  for (const char* empty : {R"({"errors":[]})", "null", R"({"data":null})", R"({"data":{}})",
                            R"({"data":{"keys":null}})", R"({"data":{"keys":[]}})"}) {
    absl::StatusOr<std::vector<std::string>> none = parseListKeys(j(empty));
    ASSERT_TRUE(none.ok()) << empty;
    EXPECT_TRUE(none->empty()) << empty;
  }
  for (const char* bad : {R"({"data":{"keys":"a"}})", R"({"data":{"keys":[1]}})",
                          R"({"data":{"keys":[null]}})", R"({"data":"x"})", "[]"}) {
    EXPECT_EQ(parseListKeys(j(bad)).status().code(), absl::StatusCode::kDataLoss) << bad;
  }
}

TEST(ParseMountInfoTest, Versions) {
  struct Case {
    const char* body;
    int version;
    const char* path;
  };
  for (const Case& c : {
           Case{
               R"({"data":{"type":"kv","options":{"version":"2"},"path":"secret/","accessor":"kv_1",
                  "config":{"default_lease_ttl":0},"local":false}})",
               2, "secret/"},
           Case{R"({"data":{"type":"kv","options":{"version":"1"},"path":"kv1/"}})", 1, "kv1/"},
           Case{R"({"data":{"type":"kv","options":null,"path":"old/"}})", 1, "old/"},
           Case{R"({"data":{"type":"kv","options":{},"path":"team/kv"}})", 1, "team/kv/"},
           Case{R"({"data":{"type":"kv","options":{"version":""},"path":"x/"}})", 1, "x/"},
           Case{R"({"data":{"type":"kv","options":{"version":"3"},"path":"x/"}})", 1, "x/"},
           Case{R"({"data":{"type":"generic","path":"ns1/secret/"}})", 1, "ns1/secret/"},
       }) {
    absl::StatusOr<MountInfo> mount = parseMountInfo(j(c.body));
    ASSERT_TRUE(mount.ok()) << c.body << mount.status();
    EXPECT_EQ(mount->kv_version, c.version) << c.body;
    EXPECT_EQ(mount->path, c.path) << c.body;
  }
}

TEST(ParseMountInfoTest, Bad) {
  for (const char* body :
       {"null", R"({"data":null})", R"({"data":{"type":"kv"}})", R"({"data":{"path":""}})",
        R"({"data":{"path":"/"}})", R"({"data":{"path":1}})",
        R"({"data":{"path":"s/","options":{"version":2}}})",
        R"({"data":{"path":"s/","options":"v2"}})", R"({"data":{"path":"s/","type":7}})"}) {
    EXPECT_EQ(parseMountInfo(j(body)).status().code(), absl::StatusCode::kDataLoss) << body;
  }
}

}  // namespace
}  // namespace secretsync::store::vault
