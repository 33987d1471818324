#include "test/support/kube_double/kube_double.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/support/curl_test_client.h"
#include "test/support/kube_double/seed.h"
#include "test/support/test_pki.h"
#include "test/support/vault_double/vault_double.h"

namespace secretsync::test {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kToken[] = "test-token";
constexpr char kNs[] = "app";
constexpr char kSecrets[] = "/api/v1/namespaces/app/secrets";
constexpr char kEs[] = "/apis/external-secrets.io/v1/namespaces/app/externalsecrets";

json parse(const CurlTestResponse& r) { return json::parse(r.body, nullptr, false); }

class KubeDoubleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KubeDoubleOptions options;
    options.tokens = {{kToken, "tester"}};
    options.bookmark_interval = std::chrono::milliseconds(100);
    auto kd = KubeDouble::start(options);
    ASSERT_TRUE(kd.ok()) << kd.status();
    kube_ = std::move(*kd);
    ASSERT_TRUE(kube_->createNamespace(kNs, {{"team", "a"}}).ok());
  }

  CurlTestResponse call(const std::string& method, const std::string& path,
                        const std::string& body = "",
                        const std::string& content_type = "application/json") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Authorization", absl::StrCat("Bearer ", kToken)}, {"Accept", "application/json"}};
    if (!body.empty()) {
      headers.emplace_back("Content-Type", content_type);
    }
    return client_.request(method, kube_->baseUrl() + path, headers, body);
  }
  CurlTestResponse call(const std::string& method, const std::string& path, const json& body,
                        const std::string& content_type = "application/json") {
    return call(method, path, body.dump(), content_type);
  }

  static json secret(const std::string& name, json data = {{"k", "dmFsdWU="}}) {
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", name}}},
            {"data", std::move(data)}};
  }
  static json externalSecret(const std::string& name) {
    return {{"apiVersion", "external-secrets.io/v1"},
            {"kind", "ExternalSecret"},
            {"metadata", {{"name", name}}},
            {"spec", {{"refreshInterval", "1h"}}}};
  }

  std::unique_ptr<KubeDouble> kube_;
  CurlTestClient client_;
};

// --- Errors, auth, discovery ------------------------------------------------------------------

TEST_F(KubeDoubleTest, UnauthenticatedGets401Status) {
  auto r = client_.request("GET", kube_->baseUrl() + kSecrets);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(parse(r), json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},
      "status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})"));
  r = client_.request("GET", kube_->baseUrl() + kSecrets, {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(r.status, 401);
}

TEST_F(KubeDoubleTest, UnknownPathIsPlainText404) {
  auto r = call("GET", "/apis/example.io/v1/namespaces/app/things");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 page not found\n");
  EXPECT_THAT(r.header("content-type").value_or(""), HasSubstr("text/plain"));
}

TEST_F(KubeDoubleTest, NotFoundStatusShape) {
  auto r = call("GET", absl::StrCat(kSecrets, "/missing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(parse(r), json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},
      "status":"Failure","message":"secrets \"missing\" not found","reason":"NotFound",
      "details":{"name":"missing","kind":"secrets"},"code":404})"));
  r = call("GET", absl::StrCat(kEs, "/missing"));
  EXPECT_EQ(parse(r)["message"], "externalsecrets.external-secrets.io \"missing\" not found");
  EXPECT_EQ(parse(r)["details"]["group"], "external-secrets.io");
}

TEST_F(KubeDoubleTest, Discovery) {
  EXPECT_EQ(parse(call("GET", "/api"))["versions"], json({"v1"}));
  json groups = parse(call("GET", "/apis"));
  std::vector<std::string> names;
  for (const auto& g : groups["groups"]) {
    names.push_back(g["name"]);
  }
  EXPECT_THAT(names,
              ::testing::IsSupersetOf({"external-secrets.io", "coordination.k8s.io", "deckhouse.io",
                                       "secrets-store.csi.x-k8s.io", "authentication.k8s.io"}));
  json es = parse(call("GET", "/apis/external-secrets.io/v1beta1"));
  EXPECT_EQ(es["groupVersion"], "external-secrets.io/v1beta1");
  bool has_status = false;
  for (const auto& r : es["resources"]) {
    has_status = has_status || r["name"] == "externalsecrets/status";
  }
  EXPECT_TRUE(has_status);
  EXPECT_EQ(call("GET", "/apis/example.io/v1").status, 404);
  EXPECT_EQ(parse(call("GET", "/version"))["major"], "1");
}

// --- Secrets ----------------------------------------------------------------------------------

TEST_F(KubeDoubleTest, CreateSecretSetsServerFieldsAndMergesStringData) {
  json body = secret("db", {{"a", "YQ=="}, {"b", "Yg=="}});
  body["stringData"] = {{"b", "from-string"}};
  auto r = call("POST", kSecrets, body);
  ASSERT_EQ(r.status, 201) << r.body;
  json s = parse(r);
  EXPECT_EQ(s["data"], json({{"a", "YQ=="}, {"b", "ZnJvbS1zdHJpbmc="}}));
  EXPECT_FALSE(s.contains("stringData"));
  EXPECT_EQ(s["type"], "Opaque");
  EXPECT_FALSE(s["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(s["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_FALSE(s["metadata"].contains("generation"));
  EXPECT_THAT(s["metadata"]["creationTimestamp"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"));
  auto again = call("POST", kSecrets, body);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(parse(again)["reason"], "AlreadyExists");
  EXPECT_EQ(parse(again)["details"]["kind"], "secrets");
}

TEST_F(KubeDoubleTest, GenerateName) {
  json body = secret("");
  body["metadata"] = {{"generateName", "tok-"}};
  auto r = call("POST", kSecrets, body);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_THAT(parse(r)["metadata"]["name"].get<std::string>(),
              ::testing::MatchesRegex("tok-[a-z0-9]{5}"));
}

TEST_F(KubeDoubleTest, SecretValidation) {
  auto r = call("POST", kSecrets, secret("Bad_Name"));
  ASSERT_EQ(r.status, 422);
  json st = parse(r);
  EXPECT_EQ(st["reason"], "Invalid");
  EXPECT_EQ(st["details"]["kind"], "Secret");
  EXPECT_EQ(st["details"]["causes"][0]["field"], "metadata.name");
  EXPECT_THAT(st["message"].get<std::string>(),
              HasSubstr("Secret \"Bad_Name\" is invalid: metadata.name: Invalid value"));

  EXPECT_EQ(call("POST", kSecrets, secret("badkey", {{"no/slash", "YQ=="}})).status, 422);
  EXPECT_EQ(call("POST", kSecrets, secret("badb64", {{"k", "not base64!"}})).status, 422);
  EXPECT_EQ(call("POST", kSecrets, secret("urlsafe", {{"k", "-_-_"}})).status, 422);
  json tls = secret("tls", {{"tls.crt", ""}});
  tls["type"] = "kubernetes.io/tls";
  r = call("POST", kSecrets, tls);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(parse(r)["details"]["causes"][0]["field"], "data[tls.key]");

  // 1 MiB of decoded data is fine; one byte more is not.
  std::string mib(1 << 20, 'x');
  std::string encoded;
  {
    json tmp = secret("big");
    tmp["stringData"] = {{"k", mib}};
    EXPECT_EQ(call("POST", kSecrets, tmp).status, 201);
    tmp["metadata"]["name"] = "bigger";
    tmp["stringData"] = {{"k", mib}, {"j", "y"}};
    r = call("POST", kSecrets, tmp);
    EXPECT_EQ(r.status, 422);
    EXPECT_THAT(parse(r)["message"].get<std::string>(),
                HasSubstr("data: Too long: may not be more than 1048576 bytes"));
  }
  EXPECT_EQ(call("POST", "/api/v1/namespaces/nowhere/secrets", secret("x")).status, 404);
}

TEST_F(KubeDoubleTest, TypeAndImmutableRules) {
  json body = secret("imm");
  body["immutable"] = true;
  ASSERT_EQ(call("POST", kSecrets, body).status, 201);
  json changed = body;
  changed["data"] = {{"k", "b3RoZXI="}};
  auto r = call("PUT", absl::StrCat(kSecrets, "/imm"), changed);
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(parse(r)["message"].get<std::string>(),
              HasSubstr("field is immutable when `immutable` is set"));
  json relabel = body;
  relabel["metadata"]["labels"] = {{"l", "v"}};
  EXPECT_EQ(call("PUT", absl::StrCat(kSecrets, "/imm"), relabel).status, 200);

  ASSERT_EQ(call("POST", kSecrets, secret("typed")).status, 201);
  json retyped = secret("typed");
  retyped["type"] = "kubernetes.io/basic-auth";
  retyped["data"] = {{"username", "dQ=="}};
  r = call("PUT", absl::StrCat(kSecrets, "/typed"), retyped);
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(parse(r)["message"].get<std::string>(), HasSubstr("type: Invalid value"));
}

TEST_F(KubeDoubleTest, UpdateConflictsAndUnconditionalUpdate) {
  json created = parse(call("POST", kSecrets, secret("s")));
  std::string rv = created["metadata"]["resourceVersion"];
  json update = created;
  update["data"] = {{"k", "bmV3"}};
  auto r = call("PUT", absl::StrCat(kSecrets, "/s"), update);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(parse(r)["metadata"]["resourceVersion"], rv);
  r = call("PUT", absl::StrCat(kSecrets, "/s"), update);  // the old rv again
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(parse(r)["reason"], "Conflict");
  EXPECT_THAT(parse(r)["message"].get<std::string>(),
              HasSubstr("Operation cannot be fulfilled on secrets \"s\": the object has been "
                        "modified"));
  update["metadata"].erase("resourceVersion");
  EXPECT_EQ(call("PUT", absl::StrCat(kSecrets, "/s"), update).status, 200);
  EXPECT_EQ(call("PUT", absl::StrCat(kSecrets, "/nope"), secret("nope")).status, 404);
}

TEST_F(KubeDoubleTest, NoOpWriteKeepsResourceVersion) {
  json created = parse(call("POST", kSecrets, secret("same")));
  auto r = call("PUT", absl::StrCat(kSecrets, "/same"), created);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
  auto log = kube_->writeLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_TRUE(log[0].changed);
  EXPECT_FALSE(log[1].changed);
}

TEST_F(KubeDoubleTest, MergeStrategicAndJsonPatch) {
  ASSERT_EQ(call("POST", kSecrets, secret("p", {{"a", "YQ=="}, {"b", "Yg=="}})).status, 201);
  auto r = call("PATCH", absl::StrCat(kSecrets, "/p"), json{{"data", {{"a", nullptr}}}},
                "application/merge-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["data"], json({{"b", "Yg=="}}));
  r = call("PATCH", absl::StrCat(kSecrets, "/p"), json{{"data", {{"c", "Yw=="}}}},
           "application/strategic-merge-patch+json");
  EXPECT_EQ(parse(r)["data"], json({{"b", "Yg=="}, {"c", "Yw=="}}));
  std::string rv = parse(r)["metadata"]["resourceVersion"];
  json cas = json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", "1"}},
                          {{"op", "remove"}, {"path", "/data/b"}}});
  EXPECT_EQ(call("PATCH", absl::StrCat(kSecrets, "/p"), cas, "application/json-patch+json").status,
            422);
  cas[0]["value"] = rv;
  r = call("PATCH", absl::StrCat(kSecrets, "/p"), cas, "application/json-patch+json");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["data"], json({{"c", "Yw=="}}));
  // A resourceVersion in a merge patch is a precondition.
  r = call("PATCH", absl::StrCat(kSecrets, "/p"),
           json{{"metadata", {{"resourceVersion", rv}}}, {"data", {{"d", "ZA=="}}}},
           "application/merge-patch+json");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(call("PATCH", absl::StrCat(kSecrets, "/p"), json{{"a", 1}}, "text/plain").status, 415);
  EXPECT_EQ(call("PATCH", absl::StrCat(kSecrets, "/p?force=true"), json::object(),
                 "application/merge-patch+json")
                .status,
            422);
  EXPECT_EQ(
      call("PATCH", absl::StrCat(kSecrets, "/none"), json::object(), "application/merge-patch+json")
          .status,
      404);
}

TEST_F(KubeDoubleTest, ServerSideApply) {
  const std::string path = absl::StrCat(kSecrets, "/ssa");
  const std::string apply = "application/apply-patch+yaml";
  json doc = secret("ssa", {{"a", "YQ=="}, {"b", "Yg=="}});
  EXPECT_EQ(call("PATCH", path, doc, apply).status, 422);  // fieldManager is required
  auto r = call("PATCH", path + "?fieldManager=sync", doc, apply);
  ASSERT_EQ(r.status, 201) << r.body;
  json mf = parse(r)["metadata"]["managedFields"];
  ASSERT_EQ(mf.size(), 1u);
  EXPECT_EQ(mf[0]["manager"], "sync");
  EXPECT_EQ(mf[0]["operation"], "Apply");
  EXPECT_TRUE(mf[0]["fieldsV1"]["f:data"].contains("f:a"));

  // Another manager takes key a with a merge patch; our apply with another value conflicts.
  ASSERT_EQ(call("PATCH", path + "?fieldManager=human", json{{"data", {{"a", "eA=="}}}},
                 "application/merge-patch+json")
                .status,
            200);
  r = call("PATCH", path + "?fieldManager=sync", doc, apply);
  ASSERT_EQ(r.status, 409) << r.body;
  json st = parse(r);
  EXPECT_EQ(st["reason"], "Conflict");
  EXPECT_EQ(st["message"],
            "Apply failed with 1 conflict: conflict with \"human\" using v1: .data.a");
  EXPECT_EQ(st["details"]["causes"][0], json({{"reason", "FieldManagerConflict"},
                                              {"message", "conflict with \"human\" using v1"},
                                              {"field", ".data.a"}}));
  r = call("PATCH", path + "?fieldManager=sync&force=true", doc, apply);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["data"]["a"], "YQ==");

  // Dropping key b from the applied set removes it; keys others own stay.
  ASSERT_EQ(call("PATCH", path + "?fieldManager=human", json{{"data", {{"h", "aA=="}}}},
                 "application/merge-patch+json")
                .status,
            200);
  r = call("PATCH", path + "?fieldManager=sync", secret("ssa", {{"a", "YQ=="}}), apply);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["data"], json({{"a", "YQ=="}, {"h", "aA=="}}));
  // YAML bodies are accepted too.
  r = call(
      "PATCH", path + "?fieldManager=sync",
      std::string(
          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ssa\ndata:\n  a: YQ==\n  z: eg==\n"),
      apply);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r)["data"]["z"], "eg==");
  auto log = kube_->writeLog();
  EXPECT_EQ(log.front().verb, "apply");
  EXPECT_EQ(log.front().field_manager, "sync");
}

TEST_F(KubeDoubleTest, ListSelectorsAndPagination) {
  for (int i = 0; i < 5; ++i) {
    json s = secret(absl::StrCat("s", i));
    s["metadata"]["labels"] = {{"tier", i % 2 == 0 ? "even" : "odd"}};
    if (i == 4) {
      s["metadata"]["labels"]["special"] = "yes";
    }
    ASSERT_EQ(call("POST", kSecrets, s).status, 201);
  }
  auto names = [](const json& list) {
    std::vector<std::string> out;
    for (const auto& i : list["items"]) {
      out.push_back(i["metadata"]["name"]);
    }
    return out;
  };
  json list = parse(call("GET", absl::StrCat(kSecrets, "?labelSelector=tier%3Deven")));
  EXPECT_EQ(list["kind"], "SecretList");
  EXPECT_FALSE(list["items"][0].contains("kind"));
  EXPECT_THAT(names(list), ElementsAre("s0", "s2", "s4"));
  EXPECT_THAT(names(parse(call("GET", absl::StrCat(kSecrets, "?labelSelector=tier!%3Deven")))),
              ElementsAre("s1", "s3"));
  EXPECT_THAT(names(parse(call("GET", absl::StrCat(kSecrets, "?labelSelector=special")))),
              ElementsAre("s4"));
  EXPECT_THAT(names(parse(call(
                  "GET", absl::StrCat(kSecrets, "?labelSelector=tier%20in%20(odd),!special")))),
              ElementsAre("s1", "s3"));
  EXPECT_THAT(
      names(parse(call("GET", absl::StrCat(kSecrets, "?fieldSelector=metadata.name%3Ds3")))),
      ElementsAre("s3"));
  EXPECT_EQ(call("GET", absl::StrCat(kSecrets, "?fieldSelector=data.k%3Dx")).status, 400);
  EXPECT_THAT(names(parse(call("GET", "/api/v1/secrets?labelSelector=tier"))).size(), 5u);

  json page = parse(call("GET", absl::StrCat(kSecrets, "?limit=2")));
  EXPECT_THAT(names(page), ElementsAre("s0", "s1"));
  EXPECT_EQ(page["metadata"]["remainingItemCount"], 3);
  std::string rv = page["metadata"]["resourceVersion"];
  ASSERT_EQ(call("POST", kSecrets, secret("s9")).status, 201);
  std::vector<std::string> all = names(page);
  while (page["metadata"].contains("continue")) {
    page = parse(call("GET", absl::StrCat(kSecrets, "?limit=2&continue=",
                                          page["metadata"]["continue"].get<std::string>())));
    EXPECT_EQ(page["metadata"]["resourceVersion"], rv);
    for (const auto& n : names(page)) {
      all.push_back(n);
    }
  }
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(call("GET", absl::StrCat(kSecrets, "?limit=2&continue=garbage")).status, 400);
  std::string token =
      parse(call("GET", absl::StrCat(kSecrets, "?limit=2")))["metadata"]["continue"];
  ASSERT_EQ(call("POST", kSecrets, secret("later")).status, 201);
  kube_->compactHistory();
  auto r = call("GET", absl::StrCat(kSecrets, "?limit=2&continue=", token));
  EXPECT_EQ(r.status, 410);
  EXPECT_EQ(parse(r)["reason"], "Expired");
}

TEST_F(KubeDoubleTest, ResourceVersionZeroListAndTooLarge) {
  ASSERT_EQ(call("POST", kSecrets, secret("a")).status, 201);
  json list = parse(call("GET", absl::StrCat(kSecrets, "?resourceVersion=0")));
  EXPECT_EQ(list["items"].size(), 1u);
  auto r = call("GET", absl::StrCat(kSecrets, "?resourceVersion=999999"));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(parse(r)["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");
}

// --- Custom resources -------------------------------------------------------------------------

TEST_F(KubeDoubleTest, StatusSubresourceAndGeneration) {
  json es = externalSecret("db");
  es["status"] = {{"dropped", true}};
  auto r = call("POST", kEs, es);
  ASSERT_EQ(r.status, 201) << r.body;
  json obj = parse(r);
  EXPECT_EQ(obj["metadata"]["generation"], 1);
  EXPECT_FALSE(obj.contains("status"));

  json put = obj;
  put.erase("metadata");
  put["metadata"] = {{"name", "db"}};
  r = call("PUT", absl::StrCat(kEs, "/db"), put);
  EXPECT_EQ(r.status, 422);  // a CR PUT needs a resourceVersion
  EXPECT_THAT(parse(r)["message"].get<std::string>(), HasSubstr("must be specified for an update"));

  obj["status"] = {{"observedGeneration", 1}};
  obj["metadata"]["labels"] = {{"ignored", "by-status"}};
  r = call("PUT", absl::StrCat(kEs, "/db/status"), obj);
  ASSERT_EQ(r.status, 200) << r.body;
  json after = parse(r);
  EXPECT_EQ(after["status"]["observedGeneration"], 1);
  EXPECT_FALSE(after["metadata"].contains("labels"));
  EXPECT_EQ(after["metadata"]["generation"], 1);
  EXPECT_EQ(call("PUT", absl::StrCat(kEs, "/db/status"), obj).status, 409);  // stale rv

  r = call("PATCH", absl::StrCat(kEs, "/db"),
           json{{"spec", {{"refreshInterval", "5m"}}}, {"status", {{"observedGeneration", 7}}}},
           "application/merge-patch+json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["metadata"]["generation"], 2);
  EXPECT_EQ(parse(r)["status"]["observedGeneration"], 1);
  r = call("PATCH", absl::StrCat(kEs, "/db"), json{{"metadata", {{"labels", {{"a", "b"}}}}}},
           "application/merge-patch+json");
  EXPECT_EQ(parse(r)["metadata"]["generation"], 2);  // metadata is not spec
  EXPECT_EQ(call("PATCH", absl::StrCat(kEs, "/db"), json::object(),
                 "application/strategic-merge-patch+json")
                .status,
            415);
  r = call("PATCH", absl::StrCat(kEs, "/db/status"), json{{"status", {{"ready", true}}}},
           "application/merge-patch+json");
  EXPECT_EQ(parse(r)["status"], json({{"observedGeneration", 1}, {"ready", true}}));

  // Both ESO versions share one storage.
  json old =
      parse(call("GET", "/apis/external-secrets.io/v1beta1/namespaces/app/externalsecrets/db"));
  EXPECT_EQ(old["apiVersion"], "external-secrets.io/v1beta1");
  EXPECT_EQ(old["spec"]["refreshInterval"], "5m");
  json list = parse(call("GET", "/apis/external-secrets.io/v1beta1/externalsecrets"));
  EXPECT_EQ(list["items"][0]["apiVersion"], "external-secrets.io/v1beta1");
  EXPECT_EQ(list["kind"], "ExternalSecretList");
}

TEST_F(KubeDoubleTest, ClusterScopedAndOtherKinds) {
  json css = {{"apiVersion", "external-secrets.io/v1"},
              {"kind", "ClusterSecretStore"},
              {"metadata", {{"name", "vault"}}},
              {"spec", {{"provider", json::object()}}}};
  auto r = call("POST", "/apis/external-secrets.io/v1/clustersecretstores", css);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(parse(r)["metadata"].contains("namespace"));
  EXPECT_EQ(call("GET", "/apis/external-secrets.io/v1/clustersecretstores/vault").status, 200);
  json ssi = {{"apiVersion", "deckhouse.io/v1alpha1"},
              {"kind", "SecretsStoreImport"},
              {"metadata", {{"name", "imp"}}},
              {"spec", json::object()}};
  EXPECT_EQ(
      call("POST", "/apis/deckhouse.io/v1alpha1/namespaces/app/secretsstoreimports", ssi).status,
      201);
  json spc = {{"apiVersion", "secrets-store.csi.x-k8s.io/v1"},
              {"kind", "SecretProviderClass"},
              {"metadata", {{"name", "spc"}}},
              {"spec", {{"provider", "secretsync"}}}};
  EXPECT_EQ(
      call("POST", "/apis/secrets-store.csi.x-k8s.io/v1/namespaces/app/secretproviderclasses", spc)
          .status,
      201);
}

TEST_F(KubeDoubleTest, FinalizersDelayDeletion) {
  json es = externalSecret("fin");
  es["metadata"]["finalizers"] = {"example.io/cleanup"};
  ASSERT_EQ(call("POST", kEs, es).status, 201);
  auto r = call("DELETE", absl::StrCat(kEs, "/fin"));
  ASSERT_EQ(r.status, 200);
  json obj = parse(r);
  EXPECT_EQ(obj["kind"], "ExternalSecret");
  EXPECT_TRUE(obj["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(obj["metadata"]["generation"], 2);
  r = call("PATCH", absl::StrCat(kEs, "/fin"),
           json{{"metadata", {{"finalizers", {"example.io/cleanup", "new/one"}}}}},
           "application/merge-patch+json");
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(parse(r)["message"].get<std::string>(), HasSubstr("no new finalizers"));
  r = call("PATCH", absl::StrCat(kEs, "/fin"), json{{"metadata", {{"finalizers", nullptr}}}},
           "application/merge-patch+json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(call("GET", absl::StrCat(kEs, "/fin")).status, 404);
}

TEST_F(KubeDoubleTest, OwnerReferencesGarbageCollection) {
  json owner = parse(call("POST", kEs, externalSecret("owner")));
  auto owned = [&](const std::string& name) {
    json s = secret(name);
    s["metadata"]["ownerReferences"] = {{{"apiVersion", "external-secrets.io/v1"},
                                         {"kind", "ExternalSecret"},
                                         {"name", "owner"},
                                         {"uid", owner["metadata"]["uid"]},
                                         {"controller", true}}};
    return s;
  };
  ASSERT_EQ(call("POST", kSecrets, owned("dep")).status, 201);
  json two_controllers = owned("bad");
  two_controllers["metadata"]["ownerReferences"].push_back(
      two_controllers["metadata"]["ownerReferences"][0]);
  two_controllers["metadata"]["ownerReferences"][1]["uid"] = "other";
  EXPECT_EQ(call("POST", kSecrets, two_controllers).status, 422);
  auto r = call("DELETE", absl::StrCat(kEs, "/owner"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["status"], "Success");
  EXPECT_EQ(call("GET", absl::StrCat(kSecrets, "/dep")).status, 404);

  owner = parse(call("POST", kEs, externalSecret("owner")));
  ASSERT_EQ(call("POST", kSecrets, owned("kept")).status, 201);
  ASSERT_EQ(call("DELETE", absl::StrCat(kEs, "/owner?propagationPolicy=Orphan")).status, 200);
  json kept = parse(call("GET", absl::StrCat(kSecrets, "/kept")));
  EXPECT_FALSE(kept["metadata"].contains("ownerReferences"));
}

TEST_F(KubeDoubleTest, DeletePreconditions) {
  json s = parse(call("POST", kSecrets, secret("pre")));
  auto r = call("DELETE", absl::StrCat(kSecrets, "/pre"),
                json{{"kind", "DeleteOptions"}, {"preconditions", {{"uid", "wrong"}}}});
  EXPECT_EQ(r.status, 409);
  r = call("DELETE", absl::StrCat(kSecrets, "/pre"),
           json{{"preconditions", {{"uid", s["metadata"]["uid"]}}}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["details"]["uid"], s["metadata"]["uid"]);
}

// --- Watch ------------------------------------------------------------------------------------

// Reads a watch stream on its own connection until `until` returns true or the stream ends.
class WatchReader {
 public:
  WatchReader(const std::string& url) {
    thread_ = std::thread([this, url] {
      CurlTestClient client;
      response_ = client.request("GET", url, {{"Authorization", absl::StrCat("Bearer ", kToken)}});
      done_ = true;
    });
  }
  ~WatchReader() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  std::vector<json> finish() {
    thread_.join();
    std::vector<json> out;
    for (absl::string_view line : absl::StrSplit(response_.body, '\n', absl::SkipEmpty())) {
      out.push_back(json::parse(std::string(line), nullptr, false));
    }
    return out;
  }
  const CurlTestResponse& response() const { return response_; }

 private:
  std::thread thread_;
  CurlTestResponse response_;
  std::atomic<bool> done_{false};
};

void waitForWatches(KubeDouble& kube, size_t n) {
  for (int i = 0; i < 200 && kube.openWatches() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST_F(KubeDoubleTest, WatchStreamsEventsFromResourceVersion) {
  ASSERT_EQ(call("POST", kSecrets, secret("before")).status, 201);
  std::string rv = parse(call("GET", kSecrets))["metadata"]["resourceVersion"];
  WatchReader reader(absl::StrCat(kube_->baseUrl(), kSecrets,
                                  "?watch=true&timeoutSeconds=1&resourceVersion=", rv));
  waitForWatches(*kube_, 1);
  ASSERT_EQ(call("POST", kSecrets, secret("w")).status, 201);
  ASSERT_EQ(call("PATCH", absl::StrCat(kSecrets, "/w"), json{{"data", {{"x", "eA=="}}}},
                 "application/merge-patch+json")
                .status,
            200);
  ASSERT_EQ(call("DELETE", absl::StrCat(kSecrets, "/w")).status, 200);
  auto events = reader.finish();
  EXPECT_EQ(reader.response().status, 200);
  EXPECT_EQ(reader.response().header("transfer-encoding").value_or(""), "chunked");
  ASSERT_EQ(events.size(), 3u) << reader.response().body;
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["kind"], "Secret");
  EXPECT_EQ(events[1]["type"], "MODIFIED");
  EXPECT_EQ(events[2]["type"], "DELETED");
  EXPECT_EQ(events[2]["object"]["metadata"]["name"], "w");
}

TEST_F(KubeDoubleTest, WatchWithoutResourceVersionStartsWithSyntheticAdds) {
  ASSERT_EQ(call("POST", kSecrets, secret("one")).status, 201);
  WatchReader reader(absl::StrCat(kube_->baseUrl(), kSecrets, "?watch=1&timeoutSeconds=1"));
  auto events = reader.finish();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "ADDED");
}

TEST_F(KubeDoubleTest, WatchBookmarksAndSelectorTransitions) {
  std::string rv = parse(call("GET", kSecrets))["metadata"]["resourceVersion"];
  WatchReader reader(absl::StrCat(kube_->baseUrl(), kSecrets,
                                  "?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&"
                                  "labelSelector=sync%3Dyes&resourceVersion=",
                                  rv));
  waitForWatches(*kube_, 1);
  json s = secret("sel");
  ASSERT_EQ(call("POST", kSecrets, s).status, 201);
  ASSERT_EQ(
      call("PATCH", absl::StrCat(kSecrets, "/sel"),
           json{{"metadata", {{"labels", {{"sync", "yes"}}}}}}, "application/merge-patch+json")
          .status,
      200);
  ASSERT_EQ(call("PATCH", absl::StrCat(kSecrets, "/sel"),
                 json{{"metadata", {{"labels", {{"sync", "no"}}}}}}, "application/merge-patch+json")
                .status,
            200);
  auto events = reader.finish();
  std::vector<std::string> types;
  int bookmarks = 0;
  for (const auto& e : events) {
    if (e["type"] == "BOOKMARK") {
      ++bookmarks;
      EXPECT_EQ(e["object"]["kind"], "Secret");
      EXPECT_FALSE(e["object"]["metadata"]["resourceVersion"].get<std::string>().empty());
      EXPECT_FALSE(e["object"]["metadata"].contains("name"));
    } else {
      types.push_back(e["type"]);
    }
  }
  EXPECT_THAT(types, ElementsAre("ADDED", "DELETED"));
  EXPECT_GE(bookmarks, 3);
}

TEST_F(KubeDoubleTest, WatchFromCompactedVersionGetsInStream410) {
  ASSERT_EQ(call("POST", kSecrets, secret("a")).status, 201);
  kube_->setWatchHistoryLimit(1);
  ASSERT_EQ(call("POST", kSecrets, secret("b")).status, 201);
  ASSERT_EQ(call("POST", kSecrets, secret("c")).status, 201);
  WatchReader reader(
      absl::StrCat(kube_->baseUrl(), kSecrets, "?watch=true&timeoutSeconds=5&resourceVersion=2"));
  auto events = reader.finish();
  EXPECT_EQ(reader.response().status, 200);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "ERROR");
  EXPECT_EQ(events[0]["object"]["code"], 410);
  EXPECT_EQ(events[0]["object"]["reason"], "Expired");
  EXPECT_THAT(events[0]["object"]["message"].get<std::string>(),
              HasSubstr("too old resource version: 2"));
}

TEST_F(KubeDoubleTest, ForcedGoneAndCloseWatches) {
  kube_->forceGoneOnNextWatch();
  {
    WatchReader reader(absl::StrCat(kube_->baseUrl(), kEs, "?watch=true&timeoutSeconds=5"));
    auto events = reader.finish();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0]["object"]["code"], 410);
  }
  WatchReader reader(absl::StrCat(kube_->baseUrl(), kEs, "?watch=true&timeoutSeconds=30"));
  waitForWatches(*kube_, 1);
  auto begin = std::chrono::steady_clock::now();
  kube_->closeWatches();
  reader.finish();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  EXPECT_EQ(reader.response().status, 200);
}

TEST_F(KubeDoubleTest, DestructorEndsOpenWatches) {
  WatchReader reader(absl::StrCat(kube_->baseUrl(), kSecrets, "?watch=true&timeoutSeconds=60"));
  waitForWatches(*kube_, 1);
  auto begin = std::chrono::steady_clock::now();
  kube_.reset();
  reader.finish();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
}

// An API-server restart keeps the storage: the watch is cut, the port refuses connections while
// down, and afterwards the same objects and resourceVersions are served on the same port, and a
// watch resumes from the old resourceVersion without a 410.
TEST_F(KubeDoubleTest, RestartServerKeepsStateAndPort) {
  ASSERT_EQ(call("POST", kSecrets, secret("kept")).status, 201);
  const std::string rv = parse(call("GET", kSecrets))["metadata"]["resourceVersion"];
  const std::string url = kube_->baseUrl();
  const uint16_t port = kube_->port();
  WatchReader cut(absl::StrCat(url, kSecrets, "?watch=true&timeoutSeconds=60"));
  waitForWatches(*kube_, 1);

  std::atomic<int> refused{0};
  std::thread restart([&] { EXPECT_TRUE(kube_->restartServer(std::chrono::seconds(1)).ok()); });
  // While it is down a fresh connection fails (status 0) instead of reaching the API.
  for (int i = 0; i < 100 && refused == 0; ++i) {
    CurlTestClient probe;
    if (probe.request("GET", url + "/version").status == 0) ++refused;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto begin = std::chrono::steady_clock::now();
  cut.finish();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  restart.join();
  EXPECT_GE(refused.load(), 1);
  EXPECT_EQ(kube_->restarts(), 1u);
  EXPECT_EQ(kube_->port(), port);
  EXPECT_EQ(kube_->baseUrl(), url);

  // Same storage: the Secret, its resourceVersion, and a watch from before the restart.
  CurlTestClient fresh;
  const auto got = fresh.request("GET", absl::StrCat(url, kSecrets, "/kept"),
                                 {{"Authorization", absl::StrCat("Bearer ", kToken)}});
  ASSERT_EQ(got.status, 200) << got.body;
  WatchReader resumed(
      absl::StrCat(url, kSecrets, "?watch=true&timeoutSeconds=1&resourceVersion=", rv));
  waitForWatches(*kube_, 1);
  ASSERT_EQ(call("POST", kSecrets, secret("after")).status, 201);
  const auto events = resumed.finish();
  ASSERT_EQ(events.size(), 1u) << resumed.response().body;
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "after");
}

// --- Service accounts, TokenRequest, TokenReview, Vault login ---------------------------------

TEST_F(KubeDoubleTest, TokenRequestTokenReviewAndVaultLogin) {
  ASSERT_TRUE(kube_
                  ->putObject({{"apiVersion", "v1"},
                               {"kind", "ServiceAccount"},
                               {"metadata", {{"name", "syncer"}, {"namespace", kNs}}}})
                  .ok());
  auto r = call("POST", "/api/v1/namespaces/app/serviceaccounts/syncer/token",
                json{{"apiVersion", "authentication.k8s.io/v1"},
                     {"kind", "TokenRequest"},
                     {"spec", {{"audiences", {"vault"}}, {"expirationSeconds", 600}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  json tr = parse(r);
  std::string jwt = tr["status"]["token"];
  EXPECT_FALSE(tr["status"]["expirationTimestamp"].get<std::string>().empty());
  EXPECT_EQ(call("POST", "/api/v1/namespaces/app/serviceaccounts/syncer/token",
                 json{{"spec", {{"expirationSeconds", 60}}}})
                .status,
            422);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/app/serviceaccounts/ghost/token",
                 json{{"spec", json::object()}})
                .status,
            404);

  r = call("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
           json{{"apiVersion", "authentication.k8s.io/v1"},
                {"kind", "TokenReview"},
                {"spec", {{"token", jwt}, {"audiences", {"vault"}}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  json review = parse(r);
  EXPECT_EQ(review["status"]["authenticated"], true);
  EXPECT_EQ(review["status"]["user"]["username"], "system:serviceaccount:app:syncer");
  EXPECT_EQ(review["status"]["audiences"], json({"vault"}));
  r = call("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
           json{{"spec", {{"token", jwt}, {"audiences", {"other"}}}}});
  EXPECT_FALSE(parse(r)["status"].value("authenticated", false));

  // Kubernetes auth end to end: Vault asks this double to review the token.
  auto vault = VaultDouble::start();
  ASSERT_TRUE(vault.ok()) << vault.status();
  (*vault)->enableKubernetesAuth("kubernetes", {});
  (*vault)->setTokenReviewer("kubernetes", kube_->tokenReviewer());
  ASSERT_TRUE((*vault)
                  ->addKubernetesRole("kubernetes", {.name = "sync",
                                                     .bound_service_account_names = {"syncer"},
                                                     .bound_service_account_namespaces = {kNs},
                                                     .audience = "vault",
                                                     .policies = {"default"}})
                  .ok());
  CurlTestClient vc;
  auto login = vc.request("POST", (*vault)->baseUrl() + "/v1/auth/kubernetes/login", {},
                          json{{"role", "sync"}, {"jwt", jwt}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_FALSE(parse(login)["auth"]["client_token"].get<std::string>().empty());

  // Deleting the ServiceAccount invalidates its tokens.
  ASSERT_TRUE(kube_->deleteObject("v1", "ServiceAccount", kNs, "syncer").ok());
  login = vc.request("POST", (*vault)->baseUrl() + "/v1/auth/kubernetes/login", {},
                     json{{"role", "sync"}, {"jwt", jwt}}.dump());
  EXPECT_EQ(login.status, 403) << login.body;

  // A Vault double that checks signatures itself accepts the same key and issuer.
  ASSERT_TRUE(kube_
                  ->putObject({{"apiVersion", "v1"},
                               {"kind", "ServiceAccount"},
                               {"metadata", {{"name", "local"}, {"namespace", kNs}}}})
                  .ok());
  auto local = kube_->requestServiceAccountToken(kNs, "local", {"vault"});
  ASSERT_TRUE(local.ok());
  (*vault)->enableKubernetesAuth("k8s-local",
                                 {.jwt_hs256_key = KubeDoubleOptions().service_account_key,
                                  .issuer = KubeDoubleOptions().service_account_issuer});
  ASSERT_TRUE((*vault)
                  ->addKubernetesRole("k8s-local", {.name = "sync",
                                                    .bound_service_account_names = {"local"},
                                                    .bound_service_account_namespaces = {kNs},
                                                    .audience = "vault",
                                                    .policies = {"default"}})
                  .ok());
  login = vc.request("POST", (*vault)->baseUrl() + "/v1/auth/k8s-local/login", {},
                     json{{"role", "sync"}, {"jwt", *local}}.dump());
  EXPECT_EQ(login.status, 200) << login.body;
}

TEST_F(KubeDoubleTest, ServiceAccountTokensAuthenticateRequests) {
  auto token = kube_->requestServiceAccountToken("default", "default", {});
  ASSERT_TRUE(token.ok()) << token.status();
  auto r = client_.request("GET", kube_->baseUrl() + kSecrets,
                           {{"Authorization", absl::StrCat("Bearer ", *token)}});
  EXPECT_EQ(r.status, 200);
  auto vault_only = kube_->requestServiceAccountToken("default", "default", {"vault"});
  r = client_.request("GET", kube_->baseUrl() + kSecrets,
                      {{"Authorization", absl::StrCat("Bearer ", *vault_only)}});
  EXPECT_EQ(r.status, 401);
}

// --- Leases, events, namespaces, configmaps -----------------------------------------------------

TEST_F(KubeDoubleTest, LeaseConflicts) {
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/app/leases";
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "leader"}}},
                {"spec",
                 {{"holderIdentity", "a"},
                  {"leaseDurationSeconds", 15},
                  {"acquireTime", "2026-08-01T12:00:05.000000Z"},
                  {"renewTime", "2026-08-01T12:00:05.000000Z"},
                  {"leaseTransitions", 0}}}};
  EXPECT_EQ(call("GET", leases + "/leader").status, 404);
  auto r = call("POST", leases, lease);
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(call("POST", leases, lease).status, 409);
  json a = parse(r);
  json b = a;
  a["spec"]["holderIdentity"] = "a2";
  b["spec"]["holderIdentity"] = "b";
  EXPECT_EQ(call("PUT", leases + "/leader", a).status, 200);
  r = call("PUT", leases + "/leader", b);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(parse(r)["details"]["group"], "coordination.k8s.io");
  EXPECT_EQ(parse(r)["details"]["kind"], "leases");
}

TEST_F(KubeDoubleTest, Events) {
  json ev = {{"apiVersion", "v1"},
             {"kind", "Event"},
             {"metadata", {{"name", "db.17a"}}},
             {"involvedObject",
              {{"apiVersion", "external-secrets.io/v1"},
               {"kind", "ExternalSecret"},
               {"name", "db"},
               {"namespace", kNs}}},
             {"reason", "Synced"},
             {"message", "ok"},
             {"type", "Normal"},
             {"count", 1}};
  ASSERT_EQ(call("POST", "/api/v1/namespaces/app/events", ev).status, 201);
  auto r = call("PATCH", "/api/v1/namespaces/app/events/db.17a", json{{"count", 2}},
                "application/strategic-merge-patch+json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["count"], 2);
  json list = parse(call("GET", "/api/v1/namespaces/app/events?fieldSelector=reason%3DSynced"));
  EXPECT_EQ(list["items"].size(), 1u);
  ev["type"] = "Bad";
  ev["metadata"]["name"] = "db.17b";
  EXPECT_EQ(call("POST", "/api/v1/namespaces/app/events", ev).status, 422);
  json newer = {{"apiVersion", "events.k8s.io/v1"},
                {"kind", "Event"},
                {"metadata", {{"name", "n1"}}},
                {"reportingController", "example.io/sync"},
                {"reportingInstance", "pod-a"},
                {"action", "Sync"},
                {"reason", "Synced"},
                {"type", "Normal"},
                {"regarding", {{"kind", "ExternalSecret"}, {"name", "db"}}}};
  EXPECT_EQ(call("POST", "/apis/events.k8s.io/v1/namespaces/app/events", newer).status, 422);
  newer["eventTime"] = "2026-08-01T12:00:05.123456Z";
  EXPECT_EQ(call("POST", "/apis/events.k8s.io/v1/namespaces/app/events", newer).status, 201);
}

TEST_F(KubeDoubleTest, NamespacesWithLabelsAndConfigMaps) {
  json list = parse(call("GET", "/api/v1/namespaces?labelSelector=team%3Da"));
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["metadata"]["name"], kNs);
  EXPECT_EQ(list["items"][0]["status"]["phase"], "Active");
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "ca"}}},
             {"data", {{"ca.crt", "PEM"}}}};
  ASSERT_EQ(call("POST", "/api/v1/namespaces/app/configmaps", cm).status, 201);
  EXPECT_EQ(parse(call("GET", "/api/v1/namespaces/app/configmaps/ca"))["data"]["ca.crt"], "PEM");
  // Deleting a namespace takes its content along.
  ASSERT_EQ(call("DELETE", "/api/v1/namespaces/app").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/app/configmaps/ca").status, 404);
}

// --- Faults, counters, write log, seeding, HTTPS ------------------------------------------------

TEST_F(KubeDoubleTest, FaultInjection) {
  uint64_t id = kube_->addFault(kube::tooManyRequestsFault(3, 1));
  auto r = call("GET", kSecrets);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after").value_or(""), "3");
  EXPECT_EQ(r.body, "Too many requests, please try again later.\n");
  EXPECT_TRUE(r.hasHeader("x-kubernetes-pf-prioritylevel-uid"));
  EXPECT_EQ(call("GET", kSecrets).status, 200);
  EXPECT_EQ(kube_->faultHits(id), 1u);

  kube::FaultRule rule = kube::statusFault(503, "ServiceUnavailable", "try later", 5);
  rule.method = "POST";
  rule.path_prefix = "/api/v1/namespaces/app/secrets";
  kube_->addFault(rule);
  r = call("POST", kSecrets, secret("f"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(parse(r)["details"]["retryAfterSeconds"], 5);
  EXPECT_EQ(r.header("retry-after").value_or(""), "5");
  EXPECT_EQ(call("GET", kSecrets).status, 200);  // other methods pass
  kube_->clearFaults();

  kube_->addFault(vault::FaultRule::dropConnection(1));
  // A fresh connection: libcurl silently retries a request whose reused connection was reset.
  CurlTestClient fresh;
  r = fresh.request("GET", kube_->baseUrl() + kSecrets);
  EXPECT_EQ(r.status, 0);
  kube::FaultRule warn;
  warn.times = 1;
  warn.headers = {{"Warning", "299 - \"tls.key does not match tls.crt\""}};
  kube_->addFault(warn);
  r = call("GET", kSecrets);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("warning").value_or(""), "299 - \"tls.key does not match tls.crt\"");
  auto slow = vault::FaultRule::latencyOnly(std::chrono::milliseconds(200), 1);
  kube_->addFault(slow);
  auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(call("GET", kSecrets).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(200));
}

TEST_F(KubeDoubleTest, CountersAndWriteLog) {
  kube_->resetCounters();
  ASSERT_EQ(call("POST", kSecrets, secret("c")).status, 201);
  call("GET", absl::StrCat(kSecrets, "/c"));
  call("GET", kSecrets);
  ASSERT_EQ(call("POST", kEs, externalSecret("e")).status, 201);
  json e = parse(call("GET", absl::StrCat(kEs, "/e")));
  e["status"] = {{"ok", true}};
  ASSERT_EQ(call("PUT", absl::StrCat(kEs, "/e/status?fieldManager=me"), e).status, 200);
  call("DELETE", absl::StrCat(kSecrets, "/c"));
  EXPECT_EQ(kube_->requestCount("create", "secrets"), 1u);
  EXPECT_EQ(kube_->requestCount("get", "secrets"), 1u);
  EXPECT_EQ(kube_->requestCount("list", "secrets"), 1u);
  EXPECT_EQ(kube_->requestCount("update", "externalsecrets/status"), 1u);
  EXPECT_EQ(kube_->requestCount("delete", "secrets"), 1u);
  auto log = kube_->writeLog();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].verb, "create");
  EXPECT_EQ(log[0].resource, "secrets");
  EXPECT_EQ(log[0].namespace_name, kNs);
  EXPECT_EQ(log[0].name, "c");
  EXPECT_EQ(log[0].user, "tester");
  EXPECT_EQ(log[2].resource, "externalsecrets/status");
  EXPECT_EQ(log[2].field_manager, "me");
  EXPECT_EQ(log[3].verb, "delete");
  kube_->clearWriteLog();
  call("GET", kSecrets);
  EXPECT_TRUE(kube_->writeLog().empty());  // reads are not writes
}

TEST_F(KubeDoubleTest, SeedingAndInspection) {
  auto objects = kube::parseSeed(R"(
apiVersion: v1
kind: Namespace
metadata:
  name: seeded
  labels: {env: test}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: seeded}
stringData: {k: v}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: es, namespace: other}
spec: {refreshInterval: 1h}
status: {kept: true}
)");
  ASSERT_TRUE(objects.ok()) << objects.status();
  ASSERT_TRUE(kube::applySeed(*kube_, *objects).ok());
  auto ns = kube_->getObject("v1", "Namespace", "", "seeded");
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ((*ns)["metadata"]["labels"]["env"], "test");
  auto s = kube_->getObject("v1", "Secret", "seeded", "s");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ((*s)["data"]["k"], "dg==");
  auto es = kube_->getObject("external-secrets.io/v1", "ExternalSecret", "other", "es");
  ASSERT_TRUE(es.has_value());
  EXPECT_EQ((*es)["apiVersion"], "external-secrets.io/v1");
  EXPECT_EQ((*es)["status"]["kept"], true);
  EXPECT_EQ(kube_->listObjects("v1", "Secret", "seeded").size(), 1u);
  EXPECT_TRUE(kube_->writeLog().empty());
  EXPECT_FALSE(kube_->putObject({{"apiVersion", "v1"}, {"kind", "Nope"}}).ok());
}

TEST(KubeDoubleTlsTest, ServesHttps) {
  auto pki = TestPki::generate();
  ASSERT_TRUE(pki.ok());
  KubeDoubleOptions options;
  options.tls = pki->serverConfig();
  options.tokens = {{"t", "u"}};
  auto kd = KubeDouble::start(options);
  ASSERT_TRUE(kd.ok()) << kd.status();
  CurlTestClientOptions copts;
  copts.ca_pem = pki->ca.cert_pem;
  CurlTestClient c(copts);
  auto r =
      c.request("GET", (*kd)->baseUrl() + "/api/v1/namespaces", {{"Authorization", "Bearer t"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(parse(r)["kind"], "NamespaceList");
}

TEST_F(KubeDoubleTest, HostileInputNeverCrashes) {
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string("null"), std::string("{\"metadata\":[]}"),
        std::string("{\"metadata\":{\"name\":5}}"),
        std::string("{\"data\":7,\"metadata\":{\"name\":\"x\"}}"), std::string(300, 'a')}) {
    auto r = call("POST", kSecrets, body);
    EXPECT_GE(r.status, 400) << body;
    EXPECT_LT(r.status, 500) << body;
    r = call("PATCH", absl::StrCat(kSecrets, "/x"), body, "application/apply-patch+yaml");
    EXPECT_LT(r.status, 500) << body;
  }
  EXPECT_EQ(call("GET", absl::StrCat(kSecrets, "?labelSelector=a%20in%20(")).status, 400);
  EXPECT_EQ(call("GET", absl::StrCat(kSecrets, "?limit=-1")).status, 400);
  std::string long_name(400, 'a');
  EXPECT_EQ(call("POST", kSecrets, secret(long_name)).status, 422);
}

}  // namespace
}  // namespace secretsync::test
