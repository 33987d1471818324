// The secret data builder against real VaultStores talking to the in-process Vault double over
// TCP: properties, versions, decoding, metadata, extract, find, rewrite, templates, the errors and
// their classification, ESO's data hash, and one store read for many ExternalSecrets.

#include "pkg/sync/secret_data_builder.h"

#include <map>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/store/vault/vault_store.h"
#include "test/support/manual_clock.h"
#include "test/support/vault_double/vault_double.h"
#include "test/sync/sync_test_util.h"

namespace secretsync::sync {
namespace {

using test::vault::Capability;
using ::testing::ElementsAre;
using testing::externalSecret;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

// Stores by name, each a real VaultStore; counts lookups.
class FixedStores final : public StoreClientSource {
 public:
  absl::StatusOr<ResolvedStore> storeFor(const api::StoreRef& ref,
                                         std::string_view es_namespace) override {
    ++lookups;
    last_namespace = std::string(es_namespace);
    auto it = stores.find(ref.name);
    if (it == stores.end()) {
      return absl::NotFoundError("SecretStore \"" + ref.name + "\" not found");
    }
    return it->second;
  }

  std::map<std::string, ResolvedStore> stores;
  int lookups = 0;
  std::string last_namespace;
};

// Plain values of a DesiredSecret, for assertions.
std::map<std::string, std::string> plain(const DesiredSecret& secret) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : secret.data) {
    out.emplace(key, value.reveal());
  }
  return out;
}

class SecretDataBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::initCurl();
    test::VaultDoubleOptions options;
    options.clock = &clock_;
    auto vault = test::VaultDouble::start(options);
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = *std::move(vault);
    ASSERT_TRUE(vault_->mountKv("kv1", 1).ok());
    vault_->putPolicy("app", {{"secret/data/app/*", {Capability::kRead}},
                              {"secret/metadata/app/*", {Capability::kRead, Capability::kList}},
                              {"secret/metadata/app", {Capability::kList}},
                              {"kv1/*", {Capability::kRead}}});
    token_ = vault_->createToken({"app"});

    put("app/db", {{"username", "app"}, {"password", "old-password"}});
    put("app/db", {{"username", "app"},
                   {"password", "pa$$word"},
                   {"port", 5432},
                   {"ratio", 0.5},
                   {"enabled", true},
                   {"nothing", nullptr},
                   {"nested", {{"a", {{"b", "deep"}}}}},
                   {"dot.key", "dotted"},
                   {"list", {"x", "y"}},
                   {"html", "<a&b>"}});
    put("app/encoded", {{"std", "b2v7/78/"},        // "ok\xfb\xff\xbf?" in StdEncoding
                        {"url", "b2v7_78_"},        // the same in URLEncoding
                        {"plain", "not base64!"},   // neither
                        {"unpadded", "aGVsbG8"}});  // Go's padded decoders refuse it
    put("app/api", {{"api_key", "k-123"}});
    put("app/team/one", {{"v", "1"}});
    put("other/x", {{"v", "x"}});
    ASSERT_TRUE(vault_->setCustomMetadata("secret", "app/db", {{"owner", "payments"}}).ok());

    stores_.stores["vault"] = store("secret", api::VaultKvVersion::kV2);
    stores_.stores["legacy"] = store("kv1", api::VaultKvVersion::kV1);
  }

  void put(const std::string& path, const nlohmann::json& data) {
    ASSERT_TRUE(vault_->putSecret("secret", path, data).ok());
  }

  ResolvedStore store(const std::string& mount, api::VaultKvVersion version) {
    store::vault::VaultStoreConfig config;
    config.address = vault_->baseUrl();
    config.kv_version = version == api::VaultKvVersion::kV1 ? store::vault::KvVersion::kV1
                                                            : store::vault::KvVersion::kV2;
    config.mount = mount;
    config.auth = store::vault::TokenAuthConfig{common::SecretString(token_)};
    auto created = store::vault::VaultStore::create(std::move(config), clock_);
    EXPECT_TRUE(created.ok()) << created.status();
    return {std::shared_ptr<store::StoreClient>(*std::move(created)), mount, version};
  }

  absl::StatusOr<DesiredSecret> build(const std::string& spec_yaml,
                                      const std::string& meta_extra = "") {
    const api::ExternalSecret es = externalSecret(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: app\n"
        "  namespace: prod\n" +
        meta_extra + "spec:\n  secretStoreRef:\n    name: vault\n" + spec_yaml);
    return builder_.build(es);
  }

  test::ManualClock clock_;
  std::unique_ptr<test::VaultDouble> vault_;
  std::string token_;
  FixedStores stores_;
  store::Fetcher fetcher_{clock_};
  SecretDataBuilder builder_{stores_, fetcher_};
};

// Properties select plain keys, dotted nested paths, escaped dots and array indices; values that
// are not strings come out as ESO's text or JSON; no property is the whole secret as Go's JSON.
TEST_F(SecretDataBuilderTest, PropertiesAsEsoSelectsThem) {
  auto built = build(R"(  data:
    - {secretKey: username, remoteRef: {key: app/db, property: username}}
    - {secretKey: port, remoteRef: {key: app/db, property: port}}
    - {secretKey: ratio, remoteRef: {key: app/db, property: ratio}}
    - {secretKey: enabled, remoteRef: {key: app/db, property: enabled}}
    - {secretKey: nothing, remoteRef: {key: app/db, property: nothing}}
    - {secretKey: deep, remoteRef: {key: app/db, property: nested.a.b}}
    - {secretKey: object, remoteRef: {key: app/db, property: nested}}
    - {secretKey: exact-dot, remoteRef: {key: app/db, property: dot.key}}
    - {secretKey: escaped-dot, remoteRef: {key: app/db, property: 'dot\.key'}}
    - {secretKey: second, remoteRef: {key: app/db, property: list.1}}
    - {secretKey: whole, remoteRef: {key: secret/app/api}}
    - {secretKey: all, remoteRef: {key: app/db}}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  const auto data = plain(*built);
  EXPECT_EQ(data.at("username"), "app");
  EXPECT_EQ(data.at("port"), "5432");
  EXPECT_EQ(data.at("ratio"), "0.5");
  EXPECT_EQ(data.at("enabled"), "true");
  EXPECT_EQ(data.at("nothing"), "");
  EXPECT_EQ(data.at("deep"), "deep");
  EXPECT_EQ(data.at("object"), R"({"a":{"b":"deep"}})");
  EXPECT_EQ(data.at("exact-dot"), "dotted");
  EXPECT_EQ(data.at("escaped-dot"), "dotted");
  EXPECT_EQ(data.at("second"), "y");
  EXPECT_EQ(data.at("whole"), R"({"api_key":"k-123"})");
  EXPECT_EQ(data.at("all"), R"({"dot.key":"dotted","enabled":true,"html":"\u003ca\u0026b\u003e",)"
                            R"("list":["x","y"],"nested":{"a":{"b":"deep"}},"nothing":null,)"
                            R"("password":"pa$$word","port":5432,"ratio":0.5,"username":"app"})");
  EXPECT_EQ(stores_.last_namespace, "prod");
}

// gjson syntax beyond keys and indices is refused as terminal, naming the field, never a value.
TEST_F(SecretDataBuilderTest, UnsupportedGjsonSyntaxIsTerminal) {
  for (const char* property : {"list.#", "nested.*", "@reverse", "a|b", "[x]"}) {
    auto built =
        build(std::string("  data:\n    - {secretKey: k, remoteRef: {key: app/db, property: '") +
              property + "'}}\n");
    ASSERT_FALSE(built.ok()) << property;
    EXPECT_EQ(built.status().code(), absl::StatusCode::kUnimplemented) << built.status();
    EXPECT_FALSE(isRetryable(built.status()));
    EXPECT_EQ(failedField(built.status()), "spec.data[0].remoteRef.property");
    EXPECT_THAT(std::string(built.status().message()),
                StartsWith("prod/app: spec.data[0].remoteRef.property: property"));
  }
}

// A property the secret does not have is retryable (the secret may gain it) and names the path.
TEST_F(SecretDataBuilderTest, MissingPropertyNamesFieldAndPathNeverAValue) {
  auto built = build(R"(  data:
    - {secretKey: ok, remoteRef: {key: app/db, property: username}}
    - {secretKey: k, remoteRef: {key: app/db, property: nested.a.missing}}
)");
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(isRetryable(built.status()));
  EXPECT_EQ(failedField(built.status()), "spec.data[1].remoteRef.property");
  EXPECT_EQ(built.status().message(),
            "prod/app: spec.data[1].remoteRef.property: key \"nested.a.missing\" not found in "
            "secret \"secret/app/db\"");
  EXPECT_THAT(std::string(built.status().message()), Not(HasSubstr("pa$$word")));
}

// A pinned version reads that version; a version that is not a number is a terminal spec error.
TEST_F(SecretDataBuilderTest, VersionPinning) {
  auto built = build(R"(  data:
    - {secretKey: old, remoteRef: {key: app/db, property: password, version: "1"}}
    - {secretKey: new, remoteRef: {key: app/db, property: password}}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(plain(*built), ElementsAre(Pair("new", "pa$$word"), Pair("old", "old-password")));

  auto bad = build("  data:\n    - {secretKey: k, remoteRef: {key: app/db, version: latest}}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(isRetryable(bad.status()));
  EXPECT_EQ(failedField(bad.status()), "spec.data[0].remoteRef.version");
}

// decodingStrategy follows Go's padded decoders: Auto falls back to the bytes as they are.
TEST_F(SecretDataBuilderTest, DecodingStrategies) {
  auto built = build(R"(  data:
    - {secretKey: std, remoteRef: {key: app/encoded, property: std, decodingStrategy: Base64}}
    - {secretKey: url, remoteRef: {key: app/encoded, property: url, decodingStrategy: Base64URL}}
    - {secretKey: auto-std, remoteRef: {key: app/encoded, property: std, decodingStrategy: Auto}}
    - {secretKey: auto-url, remoteRef: {key: app/encoded, property: url, decodingStrategy: Auto}}
    - {secretKey: auto-plain, remoteRef: {key: app/encoded, property: plain, decodingStrategy: Auto}}
    - {secretKey: auto-unpadded, remoteRef: {key: app/encoded, property: unpadded, decodingStrategy: Auto}}
    - {secretKey: none, remoteRef: {key: app/encoded, property: std, decodingStrategy: None}}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  const auto data = plain(*built);
  const std::string decoded = "ok\xfb\xff\xbf?";
  EXPECT_EQ(data.at("std"), decoded);
  EXPECT_EQ(data.at("url"), decoded);
  EXPECT_EQ(data.at("auto-std"), decoded);
  EXPECT_EQ(data.at("auto-url"), decoded);
  EXPECT_EQ(data.at("auto-plain"), "not base64!");
  EXPECT_EQ(data.at("auto-unpadded"), "aGVsbG8");
  EXPECT_EQ(data.at("none"), "b2v7/78/");

  auto bad = build(R"(  data:
    - {secretKey: k, remoteRef: {key: app/encoded, property: plain, decodingStrategy: Base64}}
)");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(failedField(bad.status()), "spec.data[0].remoteRef.decodingStrategy");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("not valid Base64"));
  EXPECT_THAT(std::string(bad.status().message()), Not(HasSubstr("not base64!")));
}

// metadataPolicy Fetch reads KV v2 custom_metadata (and system fields) instead of the data; on a
// KV v1 store it is refused as ESO refuses it.
TEST_F(SecretDataBuilderTest, MetadataPolicyFetch) {
  auto built = build(R"(  data:
    - {secretKey: owner, remoteRef: {key: app/db, property: owner, metadataPolicy: Fetch}}
    - {secretKey: version, remoteRef: {key: app/db, property: current_version, metadataPolicy: Fetch}}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(plain(*built), ElementsAre(Pair("owner", "payments"), Pair("version", "2")));
  EXPECT_EQ(vault_->requestCount("GET", "secret/metadata/app/db"), 2u);

  auto v1 = build(R"(  data:
    - secretKey: owner
      sourceRef: {storeRef: {name: legacy}}
      remoteRef: {key: x, metadataPolicy: Fetch}
)");
  ASSERT_FALSE(v1.ok());
  EXPECT_EQ(failedField(v1.status()), "spec.data[0].remoteRef.metadataPolicy");
}

// dataFrom.extract: top-level keys become Secret keys, nested objects JSON, numbers text; a
// property may narrow it to an object; a non-object cannot be extracted.
TEST_F(SecretDataBuilderTest, Extract) {
  auto built = build(R"(  dataFrom:
    - extract: {key: app/db, property: nested}
    - extract: {key: app/api}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(plain(*built), ElementsAre(Pair("a", R"({"b":"deep"})"), Pair("api_key", "k-123")));

  auto whole = build("  dataFrom:\n    - extract: {key: app/db}\n");
  ASSERT_TRUE(whole.ok()) << whole.status();
  const auto data = plain(*whole);
  EXPECT_EQ(data.at("port"), "5432");
  EXPECT_EQ(data.at("list"), R"(["x","y"])");
  // conversionStrategy Default: "dot.key" is a valid key and stays.
  EXPECT_EQ(data.at("dot.key"), "dotted");

  auto scalar = build("  dataFrom:\n    - extract: {key: app/db, property: username}\n");
  ASSERT_FALSE(scalar.ok());
  EXPECT_EQ(failedField(scalar.status()), "spec.dataFrom[0].extract.property");
  EXPECT_THAT(std::string(scalar.status().message()), HasSubstr("is not a JSON object"));
}

// dataFrom.find lists recursively, matches names relative to the mount, reads each whole, and
// names keys by path with "/" turned into "_"; a deleted secret is skipped as ESO skips it.
TEST_F(SecretDataBuilderTest, FindByNameWithDefaultConversion) {
  put("app/gone", {{"v", "gone"}});
  ASSERT_TRUE(vault_->deleteVersions("secret", "app/gone", {1}).ok());
  auto built = build(R"(  dataFrom:
    - find: {path: app, name: {regexp: "^app/(api|team/.*|gone)$"}}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(plain(*built), ElementsAre(Pair("app_api", R"({"api_key":"k-123"})"),
                                         Pair("app_team_one", R"({"v":"1"})")));
}

// rewrite[] applies in order: Go-style $1 in regexp targets, then a transform template.
TEST_F(SecretDataBuilderTest, RewriteRegexpAndTransformInOrder) {
  auto built = build(R"(  dataFrom:
    - find: {path: app/team, name: {regexp: "one"}}
      rewrite:
        - regexp: {source: "^app/team/(.*)$", target: "team-$1"}
        - transform: {template: "{{ .value | upper }}"}
    - extract: {key: app/api}
      rewrite:
        - regexp: {source: "_", target: "${0}${0}-"}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(plain(*built),
              ElementsAre(Pair("TEAM-ONE", R"({"v":"1"})"), Pair("api__-key", "k-123")));
}

// A rewrite that leaves an invalid Secret key, or two keys colliding, fails naming the source; an
// invalid regular expression is terminal.
TEST_F(SecretDataBuilderTest, RewriteErrors) {
  auto slash = build(R"(  dataFrom:
    - find: {path: app, name: {regexp: "api"}}
      rewrite: [{regexp: {source: "x", target: "y"}}]
)");
  ASSERT_FALSE(slash.ok());
  EXPECT_EQ(failedField(slash.status()), "spec.dataFrom[0]");
  EXPECT_THAT(std::string(slash.status().message()), HasSubstr("key from find: key \"app/api\""));

  auto collide = build(R"(  dataFrom:
    - extract: {key: app/db}
      rewrite: [{regexp: {source: ".*", target: "same"}}]
)");
  ASSERT_FALSE(collide.ok());
  EXPECT_EQ(failedField(collide.status()), "spec.dataFrom[0].rewrite[0]");

  auto invalid = build(R"(  dataFrom:
    - extract: {key: app/db}
      rewrite: [{regexp: {source: "([", target: "x"}}]
)");
  ASSERT_FALSE(invalid.ok());
  EXPECT_FALSE(isRetryable(invalid.status()));
  EXPECT_EQ(failedField(invalid.status()), "spec.dataFrom[0].rewrite[0].regexp.source");
  EXPECT_THAT(std::string(invalid.status().message()),
              HasSubstr("invalid regular expression: missing ]: ["));
}

// Regexps are Go's: flags and named groups work in find and in rewrite targets.
TEST_F(SecretDataBuilderTest, RegexpsAreGoSyntax) {
  auto built = build(R"(  dataFrom:
    - find: {path: app, name: {regexp: "(?i)/API$"}}
      rewrite:
        - regexp: {source: '^(?P<dir>\w+)/(?P<leaf>\w+)$', target: "${leaf}-$dir"}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(plain(*built), ElementsAre(Pair("api-app", R"({"api_key":"k-123"})")));
}

// dataFrom entries merge in order, and data[] overrides them, as ESO merges provider data.
TEST_F(SecretDataBuilderTest, LaterEntriesOverrideEarlierOnes) {
  put("app/first", {{"shared", "first"}, {"only-first", "1"}});
  put("app/second", {{"shared", "second"}});
  auto built = build(R"(  dataFrom:
    - extract: {key: app/first}
    - extract: {key: app/second}
  data:
    - {secretKey: only-first, remoteRef: {key: app/db, property: username}}
)");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(plain(*built), ElementsAre(Pair("only-first", "app"), Pair("shared", "second")));
}

// Without a template the ExternalSecret's labels and annotations are copied; a template renders
// data (Replace: only the templates; Merge: the fetched data under them), type and metadata.
TEST_F(SecretDataBuilderTest, TemplatesAndMetadata) {
  const std::string meta = "  labels: {team: payments}\n  annotations: {note: copied}\n";
  auto plain_es = build(
      "  data:\n    - {secretKey: user, remoteRef: {key: app/db, property: username}}\n", meta);
  ASSERT_TRUE(plain_es.ok()) << plain_es.status();
  EXPECT_THAT(plain_es->labels, ElementsAre(Pair("team", "payments")));
  EXPECT_THAT(plain_es->annotations, ElementsAre(Pair("note", "copied")));
  EXPECT_EQ(plain_es->type, "");

  const std::string data = R"(  data:
    - {secretKey: user, remoteRef: {key: app/db, property: username}}
    - {secretKey: pass, remoteRef: {key: app/db, property: password}}
)";
  auto replace = build(R"(  target:
    template:
      type: kubernetes.io/basic-auth
      metadata:
        labels: {user: "{{ .user }}"}
        annotations: {fixed: "yes"}
      data:
        username: "{{ .user }}"
        password: "{{ .pass | b64enc }}"
)" + data,
                       meta);
  ASSERT_TRUE(replace.ok()) << replace.status();
  EXPECT_EQ(replace->type, "kubernetes.io/basic-auth");
  EXPECT_THAT(plain(*replace),
              ElementsAre(Pair("password", "cGEkJHdvcmQ="), Pair("username", "app")));
  EXPECT_THAT(replace->labels, ElementsAre(Pair("user", "app")));
  EXPECT_THAT(replace->annotations, ElementsAre(Pair("fixed", "yes")));

  auto merge = build(R"(  target:
    template:
      mergePolicy: Merge
      data:
        user: "{{ .user | upper }}"
)" + data,
                     meta);
  ASSERT_TRUE(merge.ok()) << merge.status();
  EXPECT_THAT(plain(*merge), ElementsAre(Pair("pass", "pa$$word"), Pair("user", "APP")));
  // A template without metadata still copies the ExternalSecret's labels (ESO).
  EXPECT_THAT(merge->labels, ElementsAre(Pair("team", "payments")));

  auto missing = build(R"(  target:
    template:
      data:
        dsn: "{{ .nope }}"
)" + data);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(isRetryable(missing.status()));
  EXPECT_EQ(failedField(missing.status()), "spec.target.template.data[dsn]");
}

// Store failures are retryable and name the field and path: permission denied, a sealed store, a
// store the source cannot find.
TEST_F(SecretDataBuilderTest, StoreFailuresAreRetryable) {
  auto denied = build("  data:\n    - {secretKey: k, remoteRef: {key: other/x, property: v}}\n");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(isRetryable(denied.status()));
  EXPECT_EQ(failedField(denied.status()), "spec.data[0].remoteRef.key");
  EXPECT_THAT(std::string(denied.status().message()), HasSubstr("secret/other/x"));

  vault_->setSealed(true);
  auto sealed =
      build("  data:\n    - {secretKey: k, remoteRef: {key: app/api, property: api_key}}\n");
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), absl::StatusCode::kUnavailable) << sealed.status();
  EXPECT_TRUE(isRetryable(sealed.status()));
  vault_->setSealed(false);

  auto missing_store = builder_.build(externalSecret(R"(apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: prod}
spec:
  secretStoreRef: {name: nowhere}
  data: [{secretKey: k, remoteRef: {key: app/api}}]
)"));
  ASSERT_FALSE(missing_store.ok());
  EXPECT_TRUE(isRetryable(missing_store.status()));
  EXPECT_EQ(failedField(missing_store.status()), "spec.secretStoreRef");
}

// N ExternalSecrets reading one path of one identity cost one store read (invariant 4).
TEST_F(SecretDataBuilderTest, ManyExternalSecretsOneRead) {
  vault_->resetCounters();
  for (int i = 0; i < 10; ++i) {
    auto built = build(R"(  data:
    - {secretKey: user, remoteRef: {key: app/db, property: username}}
    - {secretKey: pass, remoteRef: {key: app/db, property: password}}
  dataFrom:
    - extract: {key: app/db, property: nested}
)");
    ASSERT_TRUE(built.ok()) << built.status();
  }
  EXPECT_EQ(fetcher_.stats().store_reads, 1u);
  // One request per build: its three entries share one read (see the next test).
  EXPECT_EQ(fetcher_.stats().reads_requested, 10u);
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 1u);
}

// Entries of one ExternalSecret that name one secret share one read even with the Fetcher's cache
// off, so a Vault write between them cannot give the Secret keys of two versions; a pinned
// version is a different secret and is read on its own.
TEST_F(SecretDataBuilderTest, OneBuildReadsEachSecretOnceWhateverTheCache) {
  store::Fetcher uncached(clock_, store::FetcherOptions{.cache_ttl = std::chrono::milliseconds(0)});
  SecretDataBuilder builder(stores_, uncached);
  vault_->resetCounters();
  const auto built = builder.build(externalSecret(R"(apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: prod}
spec:
  secretStoreRef: {name: vault}
  data:
    - {secretKey: user, remoteRef: {key: app/db, property: username}}
    - {secretKey: pass, remoteRef: {key: app/db, property: password}}
    - {secretKey: old, remoteRef: {key: app/db, property: password, version: "1"}}
  dataFrom:
    - extract: {key: app/db, property: nested}
)"));
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(plain(*built).at("pass"), "pa$$word");
  EXPECT_EQ(plain(*built).at("old"), "old-password");
  EXPECT_EQ(uncached.stats().reads_requested, 2u);
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 2u);

  // A second build reads again: the sharing is per build, not a cache.
  ASSERT_TRUE(builder
                  .build(externalSecret(R"(apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: prod}
spec:
  secretStoreRef: {name: vault}
  data: [{secretKey: user, remoteRef: {key: app/db, property: username}}]
)"))
                  .ok());
  EXPECT_EQ(vault_->requestCount("GET", "secret/data/app/db"), 3u);
}

// The data hash is ESO's: MD5 of Go's "%+v" of map[string][]byte, and it is set on the result.
TEST(EsoDataHashTest, MatchesGoFormatting) {
  EXPECT_EQ(esoDataHash({}), "97a15070f5f8c3bfe47678c5409471f6");  // md5("map[]")
  std::map<std::string, common::SecretString> data;
  data.emplace("a", common::SecretString("12"));
  data.emplace("b", common::SecretString(""));
  data.emplace("c", common::SecretString(std::string("\0\xff", 2)));
  // md5("map[a:[49 50] b:[] c:[0 255]]")
  EXPECT_EQ(esoDataHash(data), "ebf2ccc14b65fbd5d2c4045fc6b1e8cc");
}

// Secret keys follow the API server's rule for Secret and ConfigMap keys.
TEST(ValidateSecretKeyTest, ApiServerRules) {
  for (const char* good : {"a", "tls.crt", ".dockerconfigjson", "A-b_c.9"}) {
    EXPECT_TRUE(validateSecretKey(good).ok()) << good;
  }
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string("..data"),
        std::string("a/b"), std::string("sp ace"), std::string(254, 'k')}) {
    EXPECT_FALSE(validateSecretKey(bad).ok()) << bad;
  }
}

// Errors not made by build() are classified by code.
TEST(IsRetryableTest, ByCodeForForeignErrors) {
  EXPECT_TRUE(isRetryable(absl::UnavailableError("x")));
  EXPECT_FALSE(isRetryable(absl::InvalidArgumentError("x")));
  EXPECT_FALSE(isRetryable(absl::OkStatus()));
  EXPECT_EQ(failedField(absl::UnavailableError("x")), "");
}

}  // namespace
}  // namespace secretsync::sync
