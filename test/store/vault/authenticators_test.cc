#include "pkg/store/vault/authenticators.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/store/vault/jwt_source.h"
#include "test/mocks/store/vault/auth_fakes.h"

namespace secretsync::store::vault {
namespace {

using test::authReply;
using test::errorReply;
using test::ScriptedAuthTransport;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kJwt[] = "eyJhbGciOiJSUzI1NiJ9.sa-claims.signature";
constexpr char kSecretId[] = "0f3e5d4a-secret-id";
constexpr char kToken[] = "hvs.CAESIJ-root-like-token";

AuthenticatorPtr kubernetes(std::string mount = "kubernetes", std::string role = "app-reader") {
  KubernetesAuthConfig config;
  if (!mount.empty()) {
    config.mount = std::move(mount);
  }
  config.role = std::move(role);
  config.jwt = makeStaticJwtSource(common::SecretString(kJwt), "sa:team/app");
  absl::StatusOr<AuthenticatorPtr> auth = makeKubernetesAuthenticator(std::move(config));
  EXPECT_TRUE(auth.ok()) << auth.status();
  return std::move(auth).value();
}

AuthenticatorPtr appRole(std::string secret_id = kSecretId) {
  AppRoleAuthConfig config;
  config.role_id = "role-id-1234";
  config.secret_id = common::SecretString(std::move(secret_id));
  absl::StatusOr<AuthenticatorPtr> auth = makeAppRoleAuthenticator(std::move(config));
  EXPECT_TRUE(auth.ok()) << auth.status();
  return std::move(auth).value();
}

AuthenticatorPtr jwtAuth(std::string role = "ci") {
  JwtAuthConfig config;
  config.role = std::move(role);
  config.jwt = makeStaticJwtSource(common::SecretString(kJwt), "oidc:ci");
  absl::StatusOr<AuthenticatorPtr> auth = makeJwtAuthenticator(std::move(config));
  EXPECT_TRUE(auth.ok()) << auth.status();
  return std::move(auth).value();
}

AuthenticatorPtr tokenAuth(std::string token = kToken) {
  absl::StatusOr<AuthenticatorPtr> auth =
      makeTokenAuthenticator(TokenAuthConfig{common::SecretString(std::move(token))});
  EXPECT_TRUE(auth.ok()) << auth.status();
  return std::move(auth).value();
}

void expectNoSecrets(const absl::Status& status) {
  EXPECT_THAT(status.message(), Not(HasSubstr(kJwt)));
  EXPECT_THAT(status.message(), Not(HasSubstr(kSecretId)));
  EXPECT_THAT(status.message(), Not(HasSubstr(kToken)));
}

TEST(KubernetesAuthTest, PostsRoleAndJwtWithoutAToken) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/kubernetes/login",
               [](const VaultCall&) { return authReply("hvs.k8s", 3600, true); });
  const absl::StatusOr<LoginResult> result = kubernetes()->login(transport);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->token.reveal(), "hvs.k8s");
  EXPECT_EQ(result->lease_duration, std::chrono::seconds(3600));
  EXPECT_TRUE(result->renewable);

  const auto calls = transport.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].path, "auth/kubernetes/login");
  EXPECT_FALSE(calls[0].token.has_value());
  ASSERT_TRUE(calls[0].body.has_value());
  EXPECT_EQ(*calls[0].body, (nlohmann::json{{"role", "app-reader"}, {"jwt", kJwt}}));
}

TEST(KubernetesAuthTest, UsesTheGivenMountNormalised) {
  // Stronghold's local cluster mount; slashes as users sometimes write them.
  for (const std::string mount : {"kubernetes_local", "/kubernetes_local/"}) {
    ScriptedAuthTransport transport;
    transport.on("POST", "auth/kubernetes_local/login",
                 [](const VaultCall&) { return authReply("hvs.sh", 600, true); });
    AuthenticatorPtr auth = kubernetes(mount);
    EXPECT_TRUE(auth->login(transport).ok());
    EXPECT_EQ(auth->identity(), "kubernetes:kubernetes_local:app-reader:static:sa:team/app");
  }
}

TEST(KubernetesAuthTest, Forbidden403IsPermissionDeniedNamingMountAndRole) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/kubernetes/login", [](const VaultCall&) {
    return errorReply(403, {"service account name not authorized"}, /*multierror=*/true);
  });
  const absl::StatusOr<LoginResult> result = kubernetes()->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(result.status().message(), HasSubstr("kubernetes"));
  EXPECT_THAT(result.status().message(), HasSubstr("app-reader"));
  EXPECT_THAT(result.status().message(), HasSubstr("service account name not authorized"));
  expectNoSecrets(result.status());
}

TEST(KubernetesAuthTest, UnknownRole400IsInvalidArgument) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/kubernetes/login", [](const VaultCall&) {
    return errorReply(400, {"invalid role name \"app-reader\""});
  });
  const absl::StatusOr<LoginResult> result = kubernetes()->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("app-reader"));
  expectNoSecrets(result.status());
}

TEST(KubernetesAuthTest, SealedVaultIsUnavailable) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/kubernetes/login",
               [](const VaultCall&) { return errorReply(503, {"Vault is sealed"}); });
  const absl::StatusOr<LoginResult> result = kubernetes()->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
}

TEST(KubernetesAuthTest, TransportErrorKeepsItsCodeAndGainsContext) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/kubernetes/login", [](const VaultCall&) -> absl::StatusOr<VaultReply> {
    return absl::UnavailableError("connection refused");
  });
  const absl::StatusOr<LoginResult> result = kubernetes()->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr("connection refused"));
  EXPECT_THAT(result.status().message(), HasSubstr("app-reader"));
}

TEST(KubernetesAuthTest, SuccessWithoutAuthBlockIsDataLoss) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/kubernetes/login", [](const VaultCall&) {
    VaultReply reply;
    reply.status = 200;
    reply.body = nlohmann::json{{"data", nullptr}, {"auth", nullptr}};
    return reply;
  });
  const absl::StatusOr<LoginResult> result = kubernetes()->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("auth"));
}

TEST(KubernetesAuthTest, JwtSourceErrorSendsNothing) {
  ScriptedAuthTransport transport;
  KubernetesAuthConfig config;
  config.role = "app-reader";
  config.jwt = makeFileJwtSource("/nonexistent/secretsync-test/token");
  absl::StatusOr<AuthenticatorPtr> auth = makeKubernetesAuthenticator(std::move(config));
  ASSERT_TRUE(auth.ok());
  const absl::StatusOr<LoginResult> result = (*auth)->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("/nonexistent/secretsync-test/token"));
  EXPECT_TRUE(transport.calls().empty());
  EXPECT_EQ((*auth)->identity(),
            "kubernetes:kubernetes:app-reader:file:/nonexistent/secretsync-test/token");
}

TEST(KubernetesAuthTest, FactoryRejectsIncompleteConfig) {
  KubernetesAuthConfig no_role;
  no_role.jwt = makeStaticJwtSource(common::SecretString(kJwt));
  EXPECT_EQ(makeKubernetesAuthenticator(std::move(no_role)).status().code(),
            absl::StatusCode::kInvalidArgument);

  KubernetesAuthConfig no_source;
  no_source.role = "r";
  EXPECT_EQ(makeKubernetesAuthenticator(std::move(no_source)).status().code(),
            absl::StatusCode::kInvalidArgument);

  KubernetesAuthConfig no_mount;
  no_mount.mount = "/";
  no_mount.role = "r";
  no_mount.jwt = makeStaticJwtSource(common::SecretString(kJwt));
  EXPECT_EQ(makeKubernetesAuthenticator(std::move(no_mount)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AppRoleAuthTest, PostsRoleIdAndSecretIdWithoutAToken) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/approle/login",
               [](const VaultCall&) { return authReply("hvs.approle", 1200, false); });
  AuthenticatorPtr auth = appRole();
  const absl::StatusOr<LoginResult> result = auth->login(transport);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->token.reveal(), "hvs.approle");
  EXPECT_FALSE(result->renewable);

  const auto calls = transport.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].path, "auth/approle/login");
  EXPECT_FALSE(calls[0].token.has_value());
  EXPECT_EQ(*calls[0].body,
            (nlohmann::json{{"role_id", "role-id-1234"}, {"secret_id", kSecretId}}));
  EXPECT_EQ(auth->identity(), "approle:approle:role-id-1234");
}

TEST(AppRoleAuthTest, EmptySecretIdIsNotSent) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/approle/login",
               [](const VaultCall&) { return authReply("hvs.approle", 1200, true); });
  ASSERT_TRUE(appRole("")->login(transport).ok());
  EXPECT_EQ(*transport.calls()[0].body, (nlohmann::json{{"role_id", "role-id-1234"}}));
}

TEST(AppRoleAuthTest, Refused400IsInvalidArgumentWithoutTheSecretId) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/approle/login",
               [](const VaultCall&) { return errorReply(400, {"invalid role or secret ID"}); });
  const absl::StatusOr<LoginResult> result = appRole()->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("approle"));
  EXPECT_THAT(result.status().message(), HasSubstr("role-id-1234"));
  expectNoSecrets(result.status());
}

TEST(AppRoleAuthTest, FactoryRejectsEmptyRoleId) {
  EXPECT_EQ(makeAppRoleAuthenticator(AppRoleAuthConfig{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JwtAuthTest, PostsRoleAndJwtToTheJwtMount) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/jwt/login",
               [](const VaultCall&) { return authReply("hvs.jwt", 900, true); });
  AuthenticatorPtr auth = jwtAuth();
  ASSERT_TRUE(auth->login(transport).ok());
  const auto calls = transport.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].path, "auth/jwt/login");
  EXPECT_FALSE(calls[0].token.has_value());
  EXPECT_EQ(*calls[0].body, (nlohmann::json{{"role", "ci"}, {"jwt", kJwt}}));
  EXPECT_EQ(auth->identity(), "jwt:jwt:ci:static:oidc:ci");
}

TEST(JwtAuthTest, EmptyRoleLeavesItToTheMountDefault) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/jwt/login",
               [](const VaultCall&) { return authReply("hvs.jwt", 900, true); });
  ASSERT_TRUE(jwtAuth("")->login(transport).ok());
  EXPECT_EQ(*transport.calls()[0].body, (nlohmann::json{{"jwt", kJwt}}));
}

TEST(JwtAuthTest, BadJwt400IsInvalidArgumentWithoutTheJwt) {
  ScriptedAuthTransport transport;
  transport.on("POST", "auth/jwt/login", [](const VaultCall&) {
    return errorReply(400, {"error validating token: token is expired"});
  });
  const absl::StatusOr<LoginResult> result = jwtAuth()->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("\"jwt\""));
  EXPECT_THAT(result.status().message(), HasSubstr("\"ci\""));
  expectNoSecrets(result.status());
}

TEST(TokenAuthTest, ValidatesWithLookupSelf) {
  ScriptedAuthTransport transport;
  transport.on("GET", "auth/token/lookup-self",
               [](const VaultCall&) { return test::lookupSelfReply(1800, true); });
  const absl::StatusOr<LoginResult> result = tokenAuth()->login(transport);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->token.reveal(), kToken);
  EXPECT_EQ(result->lease_duration, std::chrono::seconds(1800));
  EXPECT_TRUE(result->renewable);
  const auto calls = transport.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "GET");
  EXPECT_EQ(calls[0].path, "auth/token/lookup-self");
  EXPECT_EQ(calls[0].token, std::optional<std::string>(kToken));
}

TEST(TokenAuthTest, RootTokenNeverExpires) {
  ScriptedAuthTransport transport;
  transport.on("GET", "auth/token/lookup-self",
               [](const VaultCall&) { return test::lookupSelfReply(0, std::nullopt); });
  const absl::StatusOr<LoginResult> result = tokenAuth()->login(transport);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->lease_duration, std::chrono::seconds(0));
  EXPECT_FALSE(result->renewable);
}

TEST(TokenAuthTest, InvalidTokenIsUnauthenticatedWithoutTheToken) {
  ScriptedAuthTransport transport;
  transport.on("GET", "auth/token/lookup-self", [](const VaultCall&) {
    return errorReply(403, {"permission denied", "invalid token"}, /*multierror=*/true);
  });
  const absl::StatusOr<LoginResult> result = tokenAuth()->login(transport);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(result.status().message(), HasSubstr("token"));
  expectNoSecrets(result.status());
}

TEST(TokenAuthTest, IdentityIsAKeyedHash) {
  AuthenticatorPtr auth = tokenAuth();
  EXPECT_THAT(auth->identity(), MatchesRegex("token:[0-9a-f]{16}"));
  EXPECT_THAT(auth->identity(), Not(HasSubstr(kToken)));
  EXPECT_EQ(auth->identity(), tokenAuth()->identity());
  EXPECT_NE(auth->identity(), tokenAuth("hvs.another")->identity());
  EXPECT_EQ(makeTokenAuthenticator(TokenAuthConfig{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace secretsync::store::vault
