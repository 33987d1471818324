#include "pkg/api/external_secret.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/api/test_util.h"

namespace secretsync::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::strings;
using testing::yaml;

Parsed<ExternalSecret> parseOk(const std::string& text) {
  auto parsed = parseExternalSecret(yaml(text));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : Parsed<ExternalSecret>{};
}

// Only the errors of a manifest built from a spec body.
std::vector<std::string> errorsOf(const std::string& spec) {
  auto parsed = parseOk(
      "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
      "metadata: {name: es, namespace: ns}\nspec:\n" +
      spec);
  return strings(parsed.diagnostics.errors);
}

std::vector<std::string> unsupportedOf(const std::string& spec) {
  auto parsed = parseOk(
      "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\n"
      "metadata: {name: es, namespace: ns}\nspec:\n" +
      spec);
  return strings(parsed.diagnostics.unsupported);
}

constexpr char kMinimal[] = R"(  secretStoreRef: {name: vault}
  data:
    - secretKey: password
      remoteRef: {key: app/db, property: password}
)";

// The "full" example of ESO's docs, limited to what the Vault provider uses.
TEST(ExternalSecretTest, ParsesARealisticV1Manifest) {
  auto parsed = parseOk(R"(
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db-creds
  namespace: team-a
  uid: 7d3c
  generation: 3
  resourceVersion: "1234"
  labels: {app: web}
  annotations: {force-sync: "1700000000"}
spec:
  refreshInterval: 15m
  refreshPolicy: Periodic
  secretStoreRef:
    name: vault-backend
    kind: ClusterSecretStore
  target:
    name: db-secret
    creationPolicy: Owner
    deletionPolicy: Delete
    immutable: false
    template:
      type: kubernetes.io/basic-auth
      engineVersion: v2
      mergePolicy: Merge
      metadata:
        labels: {managed: "yes"}
      data:
        username: "{{ .user }}"
        dsn: "postgres://{{ .user }}:{{ .password | urlquery }}@db"
  data:
    - secretKey: user
      remoteRef:
        key: app/db
        property: user
        version: "3"
    - secretKey: password
      remoteRef:
        key: app/db
        property: password
        decodingStrategy: Base64
        metadataPolicy: None
        conversionStrategy: Default
  dataFrom:
    - extract:
        key: app/config
        decodingStrategy: Auto
    - find:
        path: app
        name: {regexp: "^db-.*"}
      rewrite:
        - regexp: {source: 'db-(.*)', target: "DB_$1"}
        - transform: {template: "{{ .value | upper }}"}
status:
  refreshTime: "2024-01-01T00:00:00Z"
  syncedResourceVersion: 3-abc
  binding: {name: db-secret}
  conditions:
    - {type: Ready, status: "True", reason: SecretSynced, message: ok,
       lastTransitionTime: "2024-01-01T00:00:00Z"}
)");
  const ExternalSecret& es = parsed.object;
  EXPECT_EQ(es.api_version, ApiVersion::kV1);
  EXPECT_EQ(es.metadata.name, "db-creds");
  EXPECT_EQ(es.metadata.namespace_name, "team-a");
  EXPECT_EQ(es.metadata.generation, 3);
  EXPECT_EQ(es.metadata.resource_version, "1234");
  EXPECT_EQ(es.metadata.labels.at("app"), "web");
  EXPECT_EQ(es.spec.refresh_interval, absl::Minutes(15));
  ASSERT_TRUE(es.spec.secret_store_ref.has_value());
  EXPECT_EQ(es.spec.secret_store_ref->name, "vault-backend");
  EXPECT_EQ(es.spec.secret_store_ref->kind, StoreKind::kClusterSecretStore);
  EXPECT_EQ(es.spec.target.name, "db-secret");
  EXPECT_EQ(es.spec.target.deletion_policy, DeletionPolicy::kDelete);
  ASSERT_TRUE(es.spec.target.template_spec.has_value());
  EXPECT_EQ(es.spec.target.template_spec->type, "kubernetes.io/basic-auth");
  EXPECT_EQ(es.spec.target.template_spec->merge_policy, TemplateMergePolicy::kMerge);
  EXPECT_TRUE(es.spec.target.template_spec->has_metadata);
  EXPECT_EQ(es.spec.target.template_spec->labels.at("managed"), "yes");
  ASSERT_EQ(es.spec.data.size(), 2u);
  EXPECT_EQ(es.spec.data[0].remote_ref.version, "3");
  EXPECT_EQ(es.spec.data[1].remote_ref.decoding_strategy, DecodingStrategy::kBase64);
  ASSERT_EQ(es.spec.data_from.size(), 2u);
  EXPECT_EQ(es.spec.data_from[0].extract->decoding_strategy, DecodingStrategy::kAuto);
  EXPECT_EQ(es.spec.data_from[1].find->name_regexp, "^db-.*");
  ASSERT_EQ(es.spec.data_from[1].rewrite.size(), 2u);
  EXPECT_EQ(std::get<RewriteRegexp>(es.spec.data_from[1].rewrite[0]).target, "DB_$1");
  EXPECT_EQ(std::get<RewriteTransform>(es.spec.data_from[1].rewrite[1]).template_text,
            "{{ .value | upper }}");
  EXPECT_EQ(es.status.refresh_time, "2024-01-01T00:00:00Z");
  EXPECT_EQ(es.status.binding_name, "db-secret");
  ASSERT_EQ(es.status.conditions.size(), 1u);
  EXPECT_EQ(es.status.conditions[0].reason, "SecretSynced");
  // The one problem: urlquery is outside the template subset, named with its key.
  EXPECT_THAT(parsed.diagnostics.errors, IsEmpty());
  EXPECT_THAT(strings(parsed.diagnostics.unsupported),
              ElementsAre("spec.target.template.data[dsn]: Forbidden: not supported by "
                          "secretsync yet: function \"urlquery\" is not supported"));
  EXPECT_EQ(parsed.diagnostics.reason(), "UnsupportedField");
}

TEST(ExternalSecretTest, V1beta1ReadsTheSame) {
  auto parsed = parseOk(R"(
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: example}
spec:
  refreshInterval: "1h"
  secretStoreRef: {name: vault-backend, kind: SecretStore}
  target: {name: example-sync}
  data:
  - secretKey: foobar
    remoteRef: {key: foo, property: my-value}
)");
  EXPECT_EQ(parsed.object.api_version, ApiVersion::kV1beta1);
  EXPECT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  EXPECT_EQ(parsed.object.spec.data[0].remote_ref.property, "my-value");
}

TEST(ExternalSecretTest, AppliesDefaults) {
  auto parsed = parseOk(std::string("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
                                    "metadata: {name: es}\nspec:\n") +
                        kMinimal);
  const ExternalSecretSpec& spec = parsed.object.spec;
  EXPECT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  EXPECT_EQ(spec.secret_store_ref->kind, StoreKind::kSecretStore);
  EXPECT_EQ(spec.refresh_interval, absl::Hours(1));
  EXPECT_EQ(spec.refresh_policy, RefreshPolicy::kPeriodic);
  EXPECT_EQ(spec.target.name, "es");
  EXPECT_EQ(spec.target.creation_policy, CreationPolicy::kOwner);
  EXPECT_EQ(spec.target.deletion_policy, DeletionPolicy::kRetain);
  EXPECT_FALSE(spec.target.immutable);
  EXPECT_FALSE(spec.target.template_spec.has_value());
  const RemoteRef& ref = spec.data[0].remote_ref;
  EXPECT_EQ(ref.decoding_strategy, DecodingStrategy::kNone);
  EXPECT_EQ(ref.metadata_policy, MetadataPolicy::kNone);
  EXPECT_EQ(ref.conversion_strategy, ConversionStrategy::kDefault);
  EXPECT_EQ(ref.null_byte_policy, NullBytePolicy::kIgnore);
}

TEST(ExternalSecretTest, ZeroRefreshIntervalMeansOnce) {
  auto parsed = parseOk(std::string("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
                                    "metadata: {name: es}\nspec:\n  refreshInterval: \"0\"\n") +
                        kMinimal);
  EXPECT_EQ(parsed.object.spec.refresh_interval, absl::ZeroDuration());
}

TEST(ExternalSecretTest, NamesRequiredFields) {
  EXPECT_THAT(errorsOf(R"(  secretStoreRef: {name: vault}
  data:
    - secretKey: a
      remoteRef: {key: x}
    - secretKey: b
      remoteRef: {key: z}
    - remoteRef: {property: p}
    - secretKey: d
)"),
              ElementsAre("spec.data[2].secretKey: Required value",
                          "spec.data[2].remoteRef.key: Required value",
                          "spec.data[3].remoteRef: Required value"));
  EXPECT_THAT(errorsOf("  data: [{secretKey: a, remoteRef: {key: x}}]\n"),
              ElementsAre("spec.secretStoreRef: Required value"));
  EXPECT_THAT(errorsOf("  secretStoreRef: {kind: SecretStore}\n  data: [{secretKey: a, "
                       "remoteRef: {key: x}}]\n"),
              ElementsAre("spec.secretStoreRef.name: Required value"));
}

TEST(ExternalSecretTest, NamesUnsupportedEnumValues) {
  EXPECT_THAT(errorsOf(std::string("  target: {creationPolicy: Foo}\n") + kMinimal),
              ElementsAre("spec.target.creationPolicy: Unsupported value: \"Foo\": supported "
                          "values: \"Owner\", \"Orphan\", \"Merge\", \"None\""));
  EXPECT_THAT(errorsOf(std::string("  target: {deletionPolicy: Keep}\n") + kMinimal),
              ElementsAre("spec.target.deletionPolicy: Unsupported value: \"Keep\": supported "
                          "values: \"Retain\", \"Delete\", \"Merge\""));
  EXPECT_THAT(errorsOf(std::string("  refreshPolicy: Always\n") + kMinimal),
              ElementsAre("spec.refreshPolicy: Unsupported value: \"Always\": supported values: "
                          "\"Periodic\", \"CreatedOnce\", \"OnChange\""));
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v, kind: Store}\n  data: [{secretKey: a, "
                       "remoteRef: {key: x, decodingStrategy: Hex, metadataPolicy: All}}]\n"),
              ElementsAre("spec.secretStoreRef.kind: Unsupported value: \"Store\": supported "
                          "values: \"SecretStore\", \"ClusterSecretStore\"",
                          "spec.data[0].remoteRef.decodingStrategy: Unsupported value: \"Hex\": "
                          "supported values: \"None\", \"Base64\", \"Base64URL\", \"Auto\"",
                          "spec.data[0].remoteRef.metadataPolicy: Unsupported value: \"All\": "
                          "supported values: \"None\", \"Fetch\""));
}

TEST(ExternalSecretTest, InvalidValuesAndTypes) {
  EXPECT_THAT(errorsOf(std::string("  refreshInterval: 1x\n") + kMinimal),
              ElementsAre("spec.refreshInterval: Invalid value: \"1x\": must be a duration such "
                          "as 1h or 30m"));
  EXPECT_THAT(errorsOf(std::string("  refreshInterval: -1h\n") + kMinimal),
              ElementsAre("spec.refreshInterval: Invalid value: \"-1h\": must not be negative"));
  EXPECT_THAT(errorsOf(std::string("  refreshInterval: 3600\n") + kMinimal),
              ElementsAre("spec.refreshInterval: Invalid value: \"integer\": must be of type "
                          "string"));
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v}\n  data: [{secretKey: \"a/b\", "
                       "remoteRef: {key: x}}]\n"),
              ElementsAre(HasSubstr("spec.data[0].secretKey: Invalid value: \"a/b\"")));
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v}\n  data: {secretKey: a}\n"),
              ElementsAre("spec.data: Invalid value: \"object\": must be of type array",
                          HasSubstr("spec.data: Required value")));
}

TEST(ExternalSecretTest, TargetNameMustBeASecretName) {
  EXPECT_THAT(errorsOf(std::string("  target: {name: My_Secret}\n") + kMinimal),
              ElementsAre(HasSubstr("spec.target.name: Invalid value: \"My_Secret\": a lowercase "
                                    "RFC 1123 subdomain")));
  EXPECT_THAT(errorsOf(std::string("  target: {name: a.b-c}\n") + kMinimal), IsEmpty());
  EXPECT_THAT(errorsOf(std::string("  target: {name: a..b}\n") + kMinimal), ::testing::SizeIs(1));
  EXPECT_THAT(errorsOf(std::string("  target: {creationPolicy: 7}\n") + kMinimal),
              ElementsAre("spec.target.creationPolicy: Invalid value: \"integer\": must be of type "
                          "string"));
}

TEST(ExternalSecretTest, EsoRules) {
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v}\n"),
              ElementsAre("spec.data: Required value: either data or dataFrom should be "
                          "specified"));
  EXPECT_THAT(errorsOf(std::string("  target: {creationPolicy: Merge, deletionPolicy: Delete}\n") +
                       kMinimal),
              ElementsAre(HasSubstr("spec.target.deletionPolicy: Forbidden: deletionPolicy=Delete "
                                    "must not be used")));
  EXPECT_THAT(
      errorsOf(std::string("  target: {creationPolicy: None, deletionPolicy: Merge}\n") + kMinimal),
      ElementsAre(HasSubstr("spec.target.deletionPolicy: Forbidden: deletionPolicy=Merge "
                            "must not be used with creationPolicy=None")));
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v}\n  dataFrom: [{find: {}}]\n"),
              ElementsAre("spec.dataFrom[0].find: Required value: find needs at least one of "
                          "path, name or tags"));
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v}\n  dataFrom: [{find: {name: {}}}]\n"),
              ElementsAre("spec.dataFrom[0].find.name.regexp: Required value"));
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v}\n  dataFrom: [{}]\n"),
              ElementsAre("spec.dataFrom[0]: Required value: either extract, find, or sourceRef "
                          "must be set to dataFrom"));
  EXPECT_THAT(
      errorsOf("  secretStoreRef: {name: v}\n  dataFrom: [{extract: {key: a}, find: {path: b}}]\n"),
      ElementsAre(HasSubstr("spec.dataFrom[0]: Forbidden: only one of")));
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v}\n  dataFrom: [{extract: {key: a}, rewrite: "
                       "[{}, {regexp: {target: x}}]}]\n"),
              ElementsAre("spec.dataFrom[0].rewrite[0]: Required value: exactly one of regexp, "
                          "transform or merge",
                          "spec.dataFrom[0].rewrite[1].regexp.source: Required value"));
  EXPECT_THAT(errorsOf("  secretStoreRef: {name: v}\n  dataFrom: [{extract: {}}]\n"),
              ElementsAre("spec.dataFrom[0].extract.key: Required value"));
}

TEST(ExternalSecretTest, TemplateErrorsNameTheKey) {
  EXPECT_THAT(errorsOf(std::string("  target:\n    template:\n      data:\n        cfg: \"{{ "
                                   ".a \"\n") +
                       kMinimal),
              ElementsAre("spec.target.template.data[cfg]: Invalid value: \"<template>\": "
                          "unclosed action"));
  EXPECT_THAT(errorsOf(std::string("  target:\n    template: {engineVersion: v3}\n") + kMinimal),
              ElementsAre("spec.target.template.engineVersion: Unsupported value: \"v3\": "
                          "supported values: \"v2\""));
}

TEST(ExternalSecretTest, ReportsEveryUnsupportedFieldByName) {
  EXPECT_THAT(
      unsupportedOf(R"(  secretStoreRef: {name: v}
  syncWindows: [{kind: allow}]
  target:
    creationPolicy: CreateOrMerge
    manifest: {apiVersion: v1, kind: ConfigMap}
    template:
      engineVersion: v1
      metadata: {finalizers: [a]}
      templateFrom: [{configMap: {name: tpl}}]
      data:
        a: "{{ if .x }}y{{ end }}"
  data:
    - secretKey: a
      remoteRef: {key: x, conversionStrategy: Unicode}
    - secretKey: b
      sourceRef: {generatorRef: {kind: Password, name: gen}}
  dataFrom:
    - extract: {key: other}
      rewrite: [{merge: {into: x}}]
)"),
      ElementsAre("spec.target.creationPolicy: Forbidden: not supported by secretsync yet: "
                  "creationPolicy \"CreateOrMerge\"",
                  "spec.target.template.engineVersion: Forbidden: not supported by secretsync "
                  "yet: template engine \"v1\"; use \"v2\"",
                  "spec.target.template.metadata.finalizers: Forbidden: not supported by "
                  "secretsync yet",
                  "spec.target.template.data[a]: Forbidden: not supported by secretsync yet: "
                  "\"if\" is not supported",
                  "spec.target.template.templateFrom: Forbidden: not supported by secretsync yet",
                  "spec.target.manifest: Forbidden: not supported by secretsync yet: targets "
                  "other than a Secret",
                  "spec.syncWindows: Forbidden: not supported by secretsync yet",
                  "spec.data[0].remoteRef.conversionStrategy: Forbidden: not supported by "
                  "secretsync yet: conversionStrategy \"Unicode\"",
                  "spec.data[1].sourceRef.generatorRef: Forbidden: not supported by secretsync "
                  "yet: generators",
                  "spec.dataFrom[0].rewrite[0].merge: Forbidden: not supported by secretsync "
                  "yet"));
}

TEST(ExternalSecretTest, UnknownFieldsAreWarningsOnly) {
  auto parsed = parseOk(std::string("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
                                    "metadata: {name: es}\nspec:\n  futureField: 1\n") +
                        kMinimal + "status: {}\nextra: 2\n");
  EXPECT_TRUE(parsed.diagnostics.ok());
  EXPECT_THAT(strings(parsed.diagnostics.warnings),
              ElementsAre("spec.futureField: unknown field", "extra: unknown field"));
}

TEST(ExternalSecretTest, SourceRefStoreOverridesTheStore) {
  auto parsed = parseOk(R"(
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: es}
spec:
  data:
    - secretKey: a
      remoteRef: {key: x}
      sourceRef: {storeRef: {name: other, kind: ClusterSecretStore}}
)");
  EXPECT_TRUE(parsed.diagnostics.ok()) << parsed.diagnostics.message();
  EXPECT_FALSE(parsed.object.spec.secret_store_ref.has_value());
  ASSERT_TRUE(parsed.object.spec.data[0].store_ref.has_value());
  EXPECT_EQ(parsed.object.spec.data[0].store_ref->name, "other");
}

TEST(ExternalSecretTest, RejectsOtherKindsAndVersions) {
  EXPECT_FALSE(parseExternalSecret(nlohmann::json::array()).ok());
  auto other_kind = parseExternalSecret(yaml("apiVersion: external-secrets.io/v1\nkind: Secret\n"));
  ASSERT_FALSE(other_kind.ok());
  EXPECT_THAT(std::string(other_kind.status().message()), HasSubstr("kind: Unsupported value"));
  auto old =
      parseExternalSecret(yaml("apiVersion: external-secrets.io/v1alpha1\nkind: ExternalSecret\n"));
  ASSERT_FALSE(old.ok());
  EXPECT_THAT(std::string(old.status().message()), HasSubstr("v1alpha1"));
}

TEST(ExternalSecretTest, DiagnosticsToStatus) {
  auto parsed = parseOk(
      "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: es}\nspec:\n"
      "  secretStoreRef: {name: v}\n  data: [{remoteRef: {}}]\n");
  const absl::Status status = parsed.diagnostics.toStatus("ExternalSecret", "es");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "ExternalSecret \"es\" is invalid: [spec.data[0].secretKey: Required value, "
            "spec.data[0].remoteRef.key: Required value]");
  EXPECT_EQ(parsed.diagnostics.reason(), "InvalidSpec");
}

TEST(ExternalSecretTest, StatusJsonRoundTrips) {
  ExternalSecretStatus status;
  status.refresh_time = "2024-01-01T00:00:00Z";
  status.synced_resource_version = "1-abc";
  status.binding_name = "s";
  status.observed_generation = 4;
  EXPECT_TRUE(setCondition(status.conditions,
                           {"Ready", "True", "SecretSynced", "Secret was synced"}, "t1"));
  EXPECT_FALSE(setCondition(status.conditions,
                            {"Ready", "True", "SecretSynced", "Secret was synced"}, "t2"));
  EXPECT_EQ(status.conditions[0].last_transition_time, "t1");
  EXPECT_TRUE(setCondition(status.conditions, {"Ready", "True", "SecretSynced", "again"}, "t3"));
  EXPECT_EQ(status.conditions[0].last_transition_time, "t1");
  EXPECT_TRUE(setCondition(status.conditions, {"Ready", "False", "SecretSyncedError", "x"}, "t4"));
  EXPECT_EQ(status.conditions[0].last_transition_time, "t4");
  const nlohmann::json j = status.toJson();
  EXPECT_EQ(j["refreshTime"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(j["binding"]["name"], "s");
  EXPECT_EQ(j["conditions"][0]["reason"], "SecretSyncedError");
  EXPECT_FALSE(j.contains("observedGeneration"));
  EXPECT_EQ(status.toJson(true)["observedGeneration"], 4);
  const ExternalSecretStatus back = ExternalSecretStatus::fromJson(status.toJson(true));
  EXPECT_EQ(back.conditions, status.conditions);
  EXPECT_EQ(back.synced_resource_version, "1-abc");
  EXPECT_EQ(back.observed_generation, 4);
}

}  // namespace
}  // namespace secretsync::api
