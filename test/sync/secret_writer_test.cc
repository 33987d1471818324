#include "pkg/sync/secret_writer.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace secretsync::sync {
namespace {

using Json = nlohmann::json;

DesiredSecret desired(std::map<std::string, std::string> values) {
  DesiredSecret out;
  for (auto& [k, v] : values) out.data.emplace(k, common::SecretString(v));
  out.data_hash = esoDataHash(out.data);
  return out;
}

SecretTarget target(api::CreationPolicy policy = api::CreationPolicy::kOwner) {
  return SecretTarget{.namespace_name = "app",
                      .name = "db-creds",
                      .creation_policy = policy,
                      .owner_api_version = "external-secrets.io/v1",
                      .owner_name = "db",
                      .owner_uid = "uid-es"};
}

// Plans a write against nothing, then applies the plan as the server would store it.
Json created(const DesiredSecret& d, const SecretTarget& t) {
  auto plan = planSecretWrite(d, t, nullptr);
  EXPECT_TRUE(plan.ok() && plan->has_value());
  Json secret = **plan;
  secret["metadata"]["resourceVersion"] = "7";
  secret["metadata"]["uid"] = "uid-secret";
  return secret;
}

TEST(SecretWriterTest, ANewSecretCarriesDataOwnershipAndEsoMarkers) {
  const Json secret = created(desired({{"password", "pw"}}), target());
  EXPECT_EQ(secret["data"]["password"], absl::Base64Escape("pw"));
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_EQ(secret["metadata"]["labels"][std::string(kManagedLabel)], "true");
  EXPECT_EQ(secret["metadata"]["labels"][std::string(kCreatedByLabel)].get<std::string>().size(),
            56u);
  EXPECT_EQ(secret["metadata"]["annotations"][std::string(kDataHashAnnotation)],
            esoDataHash(desired({{"password", "pw"}}).data));
  ASSERT_EQ(secret["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(secret["metadata"]["ownerReferences"][0]["uid"], "uid-es");
  EXPECT_TRUE(secretIntact(secret));
}

TEST(SecretWriterTest, NothingIsPlannedWhenNothingDiffers) {
  const DesiredSecret d = desired({{"password", "pw"}});
  const Json secret = created(d, target());
  auto plan = planSecretWrite(d, target(), &secret);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->has_value());
}

TEST(SecretWriterTest, OtherWritersLabelsStayAndDataIsReplaced) {
  Json secret = created(desired({{"password", "pw"}, {"old", "x"}}), target());
  secret["metadata"]["labels"]["argocd.argoproj.io/instance"] = "apps";
  auto plan = planSecretWrite(desired({{"password", "new"}}), target(), &secret);
  ASSERT_TRUE(plan.ok() && plan->has_value());
  const Json& next = **plan;
  EXPECT_EQ(next["metadata"]["labels"]["argocd.argoproj.io/instance"], "apps");
  EXPECT_EQ(next["data"].size(), 1u);
  EXPECT_EQ(next["metadata"]["resourceVersion"], "7");  // the PUT is conditional
  Json tampered = secret;
  tampered["data"]["password"] = absl::Base64Escape("tampered");
  EXPECT_FALSE(secretIntact(tampered));
}

TEST(SecretWriterTest, RefusesWhatTheApiOrOwnershipForbids) {
  Json foreign = created(desired({{"k", "v"}}), target(api::CreationPolicy::kOrphan));
  foreign["metadata"]["ownerReferences"] = Json::array(
      {{{"kind", "Deployment"}, {"name", "web"}, {"uid", "other"}, {"controller", true}}});
  auto owned = planSecretWrite(desired({{"k", "v2"}}), target(), &foreign);
  EXPECT_EQ(owned.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(owned.status().message().find("Deployment \"web\""), std::string::npos);

  Json immutable = created(desired({{"k", "v"}}), target());
  immutable["immutable"] = true;
  auto changed = planSecretWrite(desired({{"k", "v2"}}), target(), &immutable);
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(changed.status().message()).find("v2"), std::string::npos);

  Json tls = created(desired({{"k", "v"}}), target());
  DesiredSecret typed = desired({{"k", "v"}});
  typed.type = "kubernetes.io/tls";
  EXPECT_EQ(planSecretWrite(typed, target(), &tls).status().code(),
            absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(planSecretWrite(desired({{"k", "v"}}), target(api::CreationPolicy::kMerge), nullptr)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(SecretWriterTest, MergeKeepsForeignKeysAndHashesTheUnion) {
  Json existing = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"type", "Opaque"},
                   {"metadata", {{"name", "db-creds"}, {"namespace", "app"}}},
                   {"data", {{"theirs", absl::Base64Escape("t")}}}};
  auto plan =
      planSecretWrite(desired({{"ours", "o"}}), target(api::CreationPolicy::kMerge), &existing);
  ASSERT_TRUE(plan.ok() && plan->has_value());
  EXPECT_EQ((**plan)["data"].size(), 2u);
  EXPECT_FALSE((**plan)["metadata"].contains("ownerReferences"));
  EXPECT_TRUE(secretIntact(**plan));
}

TEST(SecretWriterTest, CreationPolicyNoneNeverWrites) {
  auto plan = planSecretWrite(desired({{"k", "v"}}), target(api::CreationPolicy::kNone), nullptr);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->has_value());
}

}  // namespace
}  // namespace secretsync::sync
