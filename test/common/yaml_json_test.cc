#include "pkg/common/yaml_json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace secretsync::common {
namespace {

using nlohmann::json;

json one(const std::string& yaml) {
  auto doc = yamlToJsonSingle(yaml);
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? *doc : json();
}

TEST(YamlJsonTest, ReadsAManifest) {
  const json doc = one(R"(
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
  labels: {app: web}
spec:
  refreshInterval: 1h
  data:
    - secretKey: password
      remoteRef: {key: app/db, property: password}
)");
  EXPECT_EQ(doc["apiVersion"], "external-secrets.io/v1");
  EXPECT_EQ(doc["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(doc["spec"]["data"][0]["remoteRef"]["key"], "app/db");
  EXPECT_EQ(doc["spec"]["refreshInterval"], "1h");
}

// Scalars typed as go-yaml v2 (what kubectl and sigs.k8s.io/yaml use) types them.
TEST(YamlJsonTest, TypesPlainScalarsAsKubernetes) {
  const json doc = one(R"(
t: true
f: False
yes1: yes
off1: off
n: null
tilde: ~
empty:
i: 42
neg: -7
hex: 0x1F
oct: 0o17
bin: 0b101
under: 1_000
big: 18446744073709551616
fl: 1.5
exp: 1e3
dot: .5
s: hello
ver: 1.2.3
inf: .inf
quoted: "true"
single: '42'
tagged: !!str 42
date: 2024-01-01
)");
  EXPECT_EQ(doc["t"], true);
  EXPECT_EQ(doc["f"], false);
  EXPECT_EQ(doc["yes1"], true);
  EXPECT_EQ(doc["off1"], false);
  EXPECT_TRUE(doc["n"].is_null());
  EXPECT_TRUE(doc["tilde"].is_null());
  EXPECT_TRUE(doc["empty"].is_null());
  EXPECT_EQ(doc["i"], 42);
  EXPECT_TRUE(doc["i"].is_number_integer());
  EXPECT_EQ(doc["neg"], -7);
  EXPECT_EQ(doc["hex"], 31);
  EXPECT_EQ(doc["oct"], 15);
  EXPECT_EQ(doc["bin"], 5);
  EXPECT_EQ(doc["under"], 1000);
  EXPECT_TRUE(doc["big"].is_number_float());
  EXPECT_DOUBLE_EQ(doc["fl"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(doc["exp"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(doc["dot"].get<double>(), 0.5);
  EXPECT_EQ(doc["s"], "hello");
  EXPECT_EQ(doc["ver"], "1.2.3");
  EXPECT_EQ(doc["inf"], ".inf");
  EXPECT_EQ(doc["quoted"], "true");
  EXPECT_EQ(doc["single"], "42");
  EXPECT_EQ(doc["tagged"], "42");
  EXPECT_EQ(doc["date"], "2024-01-01");
}

TEST(YamlJsonTest, BlockScalarsStayStrings) {
  const json doc = one("a: |\n  line1\n  line2\nb: >\n  folded\n  text\nc: |\n  true\n");
  EXPECT_EQ(doc["a"], "line1\nline2\n");
  EXPECT_EQ(doc["b"], "folded text\n");
  EXPECT_EQ(doc["c"], "true\n");
}

TEST(YamlJsonTest, MultiDocumentStreamSkipsEmptyDocuments) {
  auto docs = yamlToJson("---\na: 1\n---\n# only a comment\n---\nb: 2\n---\n");
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0]["a"], 1);
  EXPECT_EQ((*docs)[1]["b"], 2);
  EXPECT_FALSE(yamlToJsonSingle("a: 1\n---\nb: 2\n").ok());
  auto none = yamlToJson("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(YamlJsonTest, ResolvesAnchorsAliasesAndMergeKeys) {
  const json doc = one(R"(
base: &base
  server: https://vault:8200
  version: v2
copy: *base
merged:
  <<: *base
  version: v1
multi:
  <<: [*base, {extra: 1}]
)");
  EXPECT_EQ(doc["copy"]["server"], "https://vault:8200");
  EXPECT_EQ(doc["merged"]["server"], "https://vault:8200");
  EXPECT_EQ(doc["merged"]["version"], "v1");
  EXPECT_EQ(doc["multi"]["extra"], 1);
  EXPECT_FALSE(doc["merged"].contains("<<"));
}

TEST(YamlJsonTest, KeysBecomeStrings) {
  const json doc = one("1: a\ntrue: b\n\"x\": c\n");
  EXPECT_EQ(doc["1"], "a");
  EXPECT_EQ(doc["true"], "b");
  EXPECT_EQ(doc["x"], "c");
}

TEST(YamlJsonTest, SyntaxErrorNamesTheLine) {
  auto doc = yamlToJson("a: 1\nb: [1, 2\nc: 3\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("line "), std::string::npos) << doc.status();
}

TEST(YamlJsonTest, DuplicateAndComplexKeysAreErrors) {
  auto dup = yamlToJson("a: 1\nb: 2\na: 3\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("line 3: duplicate key \"a\""), std::string::npos)
      << dup.status();
  auto complex = yamlToJson("? [a, b]\n: 1\n");
  ASSERT_FALSE(complex.ok());
  EXPECT_EQ(complex.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(YamlJsonTest, DepthIsLimited) {
  std::string deep;
  for (int i = 0; i < 100; ++i) {
    deep += "[";
  }
  for (int i = 0; i < 100; ++i) {
    deep += "]";
  }
  auto doc = yamlToJson(deep);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
}

// The "billion laughs": nine levels of ten aliases each would be 10^9 values.
TEST(YamlJsonTest, AliasExpansionIsLimited) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    const std::string prev = absl::StrCat("*a", i - 1);
    absl::StrAppend(&yaml, "a", i, ": &a", i, " [");
    for (int j = 0; j < 10; ++j) {
      absl::StrAppend(&yaml, j == 0 ? "" : ", ", prev);
    }
    yaml += "]\n";
  }
  auto doc = yamlToJson(yaml);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kResourceExhausted);
}

// yaml-cpp 0.7's own LoadAll loops forever on these (found by fuzzing); we must return.
TEST(YamlJsonTest, StrayFlowEntryDoesNotHang) {
  for (const char* text : {",", ",a: 15m[15m[&n1\n", "\"x\",", "\n,", ",:"}) {
    auto doc = yamlToJson(text);
    ASSERT_FALSE(doc.ok()) << text;
    EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument) << doc.status();
  }
}

TEST(YamlJsonTest, SelfReferentialAliasIsAnError) {
  auto doc = yamlToJson("a: &x [*x]\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("cycle"), std::string::npos) << doc.status();
}

TEST(YamlJsonTest, DocumentCountIsLimited) {
  std::string many;
  for (int i = 0; i < 10'001; ++i) {
    many += "---\na: 1\n";
  }
  auto doc = yamlToJson(many);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(YamlJsonTest, InputSizeIsLimited) {
  YamlLimits limits;
  limits.max_input_bytes = 10;
  auto doc = yamlToJson("a: 12345678901234567890\n", limits);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(YamlJsonTest, ErrorsNeverQuoteValues) {
  auto doc = yamlToJson("password: hunter2-secret\nx: [\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message().find("hunter2"), std::string::npos);
}

TEST(YamlJsonTest, JsonIsYaml) {
  const json doc = one(R"({"a": [1, "2", true, null], "b": {"c": 1.25}})");
  EXPECT_EQ(doc, json::parse(R"({"a": [1, "2", true, null], "b": {"c": 1.25}})"));
}

}  // namespace
}  // namespace secretsync::common
