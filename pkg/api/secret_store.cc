#include "pkg/api/secret_store.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pkg/api/json_reader.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/duration.h"
#include "pkg/common/go_regexp.h"

namespace secretsync::api {
namespace {

using internal::indexPath;
using internal::ObjectReader;
using nlohmann::json;

// Context shared by the ref readers: which namespaces a ref may name.
struct StoreContext {
  StoreKind kind;
  std::string store_namespace;
  Diagnostics& diag;
};

// ESO's rule: a namespaced SecretStore may only reference objects in its own namespace.
void checkRefNamespace(const StoreContext& ctx, const std::string& path,
                       const std::string& namespace_name) {
  if (ctx.kind == StoreKind::kSecretStore && !namespace_name.empty() &&
      !ctx.store_namespace.empty() && namespace_name != ctx.store_namespace) {
    ctx.diag.forbidden(path,
                       "namespace should either be empty or match the namespace of the "
                       "SecretStore for a namespaced SecretStore");
  }
}

SecretKeySelector readSecretKeySelector(const json* node, const std::string& path,
                                        const StoreContext& ctx,
                                        std::string_view default_key = "") {
  ObjectReader r(node, path, ctx.diag);
  SecretKeySelector sel;
  sel.name = r.string("name").value_or("");
  sel.key = r.stringOr("key", default_key);
  sel.namespace_name = r.string("namespace").value_or("");
  if (sel.name.empty()) {
    ctx.diag.required(r.pathOf("name"));
  }
  if (sel.key.empty()) {
    ctx.diag.required(r.pathOf("key"));
  }
  checkRefNamespace(ctx, r.pathOf("namespace"), sel.namespace_name);
  r.finish();
  return sel;
}

ServiceAccountSelector readServiceAccount(const json* node, const std::string& path,
                                          const StoreContext& ctx) {
  ObjectReader r(node, path, ctx.diag);
  ServiceAccountSelector sa;
  sa.name = r.string("name").value_or("");
  sa.audiences = r.stringList("audiences");
  sa.namespace_name = r.string("namespace").value_or("");
  if (sa.name.empty()) {
    ctx.diag.required(r.pathOf("name"));
  }
  checkRefNamespace(ctx, r.pathOf("namespace"), sa.namespace_name);
  r.finish();
  return sa;
}

VaultAuthMethod readAuth(const json* node, const std::string& path, const VaultProvider& provider,
                         const StoreContext& ctx) {
  Diagnostics& diag = ctx.diag;
  ObjectReader r(node, path, diag);
  if (!r.present()) {
    diag.required(path);
    return std::monostate{};
  }
  static constexpr std::string_view kMethods[] = {
      "tokenSecretRef", "kubernetes", "appRole", "jwt", "cert", "ldap", "userPass", "iam", "gcp"};
  int count = 0;
  for (std::string_view m : kMethods) {
    count += r.has(m) ? 1 : 0;
  }
  if (count == 0) {
    diag.errors.push_back({FieldError::Type::kRequired, path, "",
                           "one of tokenSecretRef, kubernetes, appRole, jwt must be set"});
  } else if (count > 1) {
    diag.forbidden(path, "only one auth method may be set");
  }
  for (std::string_view m : {"cert", "ldap", "userPass", "iam", "gcp"}) {
    r.unsupported(m, absl::StrCat("Vault ", common::av(m), " auth"));
  }
  if (std::optional<std::string> ns = r.string("namespace");
      ns.has_value() && !ns->empty() && *ns != provider.namespace_name) {
    diag.unsupportedField(r.pathOf("namespace"),
                          "logging in to another Vault namespace than the one read from");
  }

  VaultAuthMethod method;
  if (const json* token = r.object("tokenSecretRef"); token != nullptr) {
    method = VaultTokenAuth{readSecretKeySelector(token, r.pathOf("tokenSecretRef"), ctx)};
  }
  if (const json* k8s = r.object("kubernetes"); k8s != nullptr) {
    ObjectReader k(k8s, r.pathOf("kubernetes"), diag);
    VaultKubernetesAuth auth;
    auth.mount_path = k.stringOr("mountPath", "kubernetes");
    auth.role = k.string("role").value_or("");
    if (auth.role.empty()) {
      diag.required(k.pathOf("role"));
    }
    if (const json* sa = k.object("serviceAccountRef"); sa != nullptr) {
      auth.service_account_ref = readServiceAccount(sa, k.pathOf("serviceAccountRef"), ctx);
    }
    if (const json* secret = k.object("secretRef"); secret != nullptr) {
      // ESO reads key "token" (a service-account token Secret) when none is given.
      auth.secret_ref = readSecretKeySelector(secret, k.pathOf("secretRef"), ctx, "token");
    }
    if (auth.service_account_ref.has_value() && auth.secret_ref.has_value()) {
      diag.forbidden(k.path(), "only one of serviceAccountRef and secretRef may be set");
    }
    k.finish();
    method = std::move(auth);
  }
  if (const json* approle = r.object("appRole"); approle != nullptr) {
    ObjectReader a(approle, r.pathOf("appRole"), diag);
    VaultAppRoleAuth auth;
    auth.path = a.stringOr("path", "approle");
    auth.role_id = a.string("roleId").value_or("");
    if (const json* role_ref = a.object("roleRef"); role_ref != nullptr) {
      auth.role_ref = readSecretKeySelector(role_ref, a.pathOf("roleRef"), ctx);
    }
    if (auth.role_id.empty() && !auth.role_ref.has_value()) {
      diag.errors.push_back({FieldError::Type::kRequired, a.pathOf("roleId"), "",
                             "one of roleId and roleRef must be set"});
    }
    if (!a.has("secretRef")) {
      diag.required(a.pathOf("secretRef"));
    } else {
      auth.secret_ref = readSecretKeySelector(a.object("secretRef"), a.pathOf("secretRef"), ctx);
    }
    a.finish();
    method = std::move(auth);
  }
  if (const json* jwt = r.object("jwt"); jwt != nullptr) {
    ObjectReader j(jwt, r.pathOf("jwt"), diag);
    VaultJwtAuth auth;
    auth.path = j.stringOr("path", "jwt");
    auth.role = j.string("role").value_or("");
    if (const json* secret = j.object("secretRef"); secret != nullptr) {
      auth.secret_ref = readSecretKeySelector(secret, j.pathOf("secretRef"), ctx);
    }
    if (const json* sat = j.object("kubernetesServiceAccountToken"); sat != nullptr) {
      ObjectReader s(sat, j.pathOf("kubernetesServiceAccountToken"), diag);
      VaultJwtKubernetesSaToken token;
      if (!s.has("serviceAccountRef")) {
        diag.required(s.pathOf("serviceAccountRef"));
      } else {
        token.service_account_ref =
            readServiceAccount(s.object("serviceAccountRef"), s.pathOf("serviceAccountRef"), ctx);
      }
      token.audiences = s.stringList("audiences");
      token.expiration_seconds = s.integer("expirationSeconds");
      if (token.expiration_seconds.has_value() && *token.expiration_seconds < 600) {
        // The TokenRequest API's own minimum.
        diag.invalid(s.pathOf("expirationSeconds"), std::to_string(*token.expiration_seconds),
                     "must be at least 600");
      }
      s.finish();
      auth.kubernetes_service_account_token = std::move(token);
    }
    if (auth.secret_ref.has_value() == auth.kubernetes_service_account_token.has_value()) {
      diag.errors.push_back({FieldError::Type::kRequired, j.path(), "",
                             "exactly one of secretRef and kubernetesServiceAccountToken"});
    }
    j.finish();
    method = std::move(auth);
  }
  r.finish();
  return method;
}

std::optional<VaultProvider> readVault(const json* node, const std::string& path,
                                       const StoreContext& ctx) {
  Diagnostics& diag = ctx.diag;
  ObjectReader r(node, path, diag);
  VaultProvider v;
  v.server = r.string("server").value_or("");
  if (v.server.empty()) {
    diag.required(r.pathOf("server"));
  } else if (!absl::StartsWith(v.server, "https://") && !absl::StartsWith(v.server, "http://")) {
    diag.invalid(r.pathOf("server"), v.server, "must be an http:// or https:// URL");
  }
  v.path = r.string("path").value_or("");
  const std::string version = r.stringOr("version", "v2");
  if (version == "v1") {
    v.version = VaultKvVersion::kV1;
  } else if (version != "v2") {
    diag.notSupported(r.pathOf("version"), version, {"v1", "v2"});
  }
  v.namespace_name = r.string("namespace").value_or("");
  if (std::optional<std::string> bundle = r.string("caBundle"); bundle.has_value()) {
    std::string pem;
    if (!absl::Base64Unescape(*bundle, &pem)) {
      // Not quoted: a CA bundle is long and of no use in a message.
      diag.invalid(r.pathOf("caBundle"), "<caBundle>", "must be base64-encoded PEM");
    } else {
      v.ca_bundle_pem = std::move(pem);
    }
  }
  if (const json* cap = r.object("caProvider"); cap != nullptr) {
    ObjectReader c(cap, r.pathOf("caProvider"), diag);
    CaProvider ca;
    const std::string type = c.string("type").value_or("");
    if (type == "Secret") {
      ca.type = CaProviderType::kSecret;
    } else if (type == "ConfigMap") {
      ca.type = CaProviderType::kConfigMap;
    } else if (type.empty()) {
      diag.required(c.pathOf("type"));
    } else {
      diag.notSupported(c.pathOf("type"), type, {"Secret", "ConfigMap"});
    }
    ca.name = c.string("name").value_or("");
    ca.key = c.string("key").value_or("");
    ca.namespace_name = c.string("namespace").value_or("");
    if (ca.name.empty()) {
      diag.required(c.pathOf("name"));
    }
    if (ca.key.empty()) {
      diag.required(c.pathOf("key"));
    }
    if (ctx.kind == StoreKind::kClusterSecretStore && ca.namespace_name.empty()) {
      diag.required(c.pathOf("namespace"));
    }
    checkRefNamespace(ctx, c.pathOf("namespace"), ca.namespace_name);
    c.finish();
    v.ca_provider = std::move(ca);
  }
  v.read_your_writes = r.boolean("readYourWrites").value_or(false);
  v.forward_inconsistent = r.boolean("forwardInconsistent").value_or(false);
  v.auth = readAuth(r.object("auth"), r.pathOf("auth"), v, ctx);
  r.unsupported("tls", "client certificates for mutual TLS");
  r.unsupported("headers", "extra HTTP headers");
  // PushSecret only: irrelevant to reading.
  r.ignore("checkAndSet");
  r.finish();
  return v;
}

std::optional<LabelSelector> readLabelSelector(const json* node, const std::string& path,
                                               Diagnostics& diag) {
  if (node == nullptr) {
    return std::nullopt;
  }
  ObjectReader r(node, path, diag);
  LabelSelector sel;
  sel.match_labels = r.stringMap("matchLabels");
  if (const json* exprs = r.array("matchExpressions"); exprs != nullptr) {
    for (size_t i = 0; i < exprs->size(); ++i) {
      ObjectReader e(&(*exprs)[i], indexPath(r.pathOf("matchExpressions"), i), diag);
      LabelSelectorRequirement req;
      req.key = e.string("key").value_or("");
      req.op = e.string("operator").value_or("");
      req.values = e.stringList("values");
      if (req.key.empty()) {
        diag.required(e.pathOf("key"));
      }
      if (req.op == "In" || req.op == "NotIn") {
        if (req.values.empty()) {
          diag.errors.push_back({FieldError::Type::kRequired, e.pathOf("values"), "",
                                 "must be specified when `operator` is 'In' or 'NotIn'"});
        }
      } else if (req.op == "Exists" || req.op == "DoesNotExist") {
        if (!req.values.empty()) {
          diag.forbidden(e.pathOf("values"),
                         "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        }
      } else {
        diag.notSupported(e.pathOf("operator"), req.op, {"In", "NotIn", "Exists", "DoesNotExist"});
      }
      e.finish();
      sel.match_expressions.push_back(std::move(req));
    }
  }
  r.finish();
  return sel;
}

bool regexFullMatch(const std::string& pattern, const std::string& text) {
  auto re = common::GoRegexp::compile(pattern);
  return re.ok() && re->matchesWhole(text);
}

}  // namespace

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) {
      return false;
    }
  }
  for (const LabelSelectorRequirement& req : match_expressions) {
    auto it = labels.find(req.key);
    const bool has = it != labels.end();
    bool in_values = false;
    for (const std::string& v : req.values) {
      in_values = in_values || (has && it->second == v);
    }
    if (req.op == "In" && !in_values) {
      return false;
    }
    if (req.op == "NotIn" && in_values) {
      return false;
    }
    if (req.op == "Exists" && !has) {
      return false;
    }
    if (req.op == "DoesNotExist" && has) {
      return false;
    }
  }
  return true;
}

bool namespaceAllowed(const SecretStore& store, const std::string& namespace_name,
                      const std::map<std::string, std::string>& namespace_labels) {
  if (store.kind == StoreKind::kSecretStore) {
    return store.metadata.namespace_name.empty() || store.metadata.namespace_name == namespace_name;
  }
  if (store.spec.conditions.empty()) {
    return true;
  }
  for (const ClusterSecretStoreCondition& c : store.spec.conditions) {
    for (const std::string& ns : c.namespaces) {
      if (ns == namespace_name) {
        return true;
      }
    }
    for (const std::string& re : c.namespace_regexes) {
      if (regexFullMatch(re, namespace_name)) {
        return true;
      }
    }
    if (c.namespace_selector.has_value() && c.namespace_selector->matches(namespace_labels)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<Parsed<SecretStore>> parseSecretStore(const json& object) {
  std::string kind;
  auto version = internal::checkTypeMeta(object, {"SecretStore", "ClusterSecretStore"}, &kind);
  if (!version.ok()) {
    return version.status();
  }
  Parsed<SecretStore> out;
  SecretStore& store = out.object;
  Diagnostics& diag = out.diagnostics;
  store.api_version = *version;
  store.kind = kind == "SecretStore" ? StoreKind::kSecretStore : StoreKind::kClusterSecretStore;
  ObjectReader top(&object, "", diag);
  top.ignore("apiVersion");
  top.ignore("kind");
  store.metadata = internal::parseObjectMeta(top.object("metadata"),
                                             store.kind == StoreKind::kSecretStore, diag);
  const StoreContext ctx{store.kind, store.metadata.namespace_name, diag};

  ObjectReader spec(top.object("spec"), "spec", diag);
  if (!spec.present()) {
    diag.required("spec");
  }
  SecretStoreSpec& s = store.spec;
  s.controller = spec.string("controller").value_or("");
  if (spec.has("refreshInterval")) {
    const json& ri = object["spec"]["refreshInterval"];
    spec.ignore("refreshInterval");
    if (ri.is_number_integer() && ri.get<int64_t>() >= 0) {
      s.refresh_interval = absl::Seconds(ri.get<int64_t>());
    } else if (ri.is_string()) {
      auto d = common::parseGoDuration(ri.get<std::string>());
      if (d.ok() && *d >= absl::ZeroDuration()) {
        s.refresh_interval = *d;
      } else {
        diag.invalid(spec.pathOf("refreshInterval"), ri.get<std::string>(),
                     "must be a number of seconds or a duration");
      }
    } else {
      diag.invalid(spec.pathOf("refreshInterval"), ri.dump().substr(0, 64),
                   "must be a number of seconds or a duration");
    }
  }
  if (const json* retry = spec.object("retrySettings"); retry != nullptr) {
    ObjectReader rr(retry, spec.pathOf("retrySettings"), diag);
    RetrySettings settings;
    settings.max_retries = rr.integer("maxRetries");
    if (settings.max_retries.has_value() && *settings.max_retries < 0) {
      diag.invalid(rr.pathOf("maxRetries"), std::to_string(*settings.max_retries),
                   "must be greater than or equal to 0");
    }
    if (std::optional<std::string> interval = rr.string("retryInterval"); interval.has_value()) {
      auto d = common::parseGoDuration(*interval);
      if (d.ok() && *d >= absl::ZeroDuration()) {
        settings.retry_interval = *d;
      } else {
        diag.invalid(rr.pathOf("retryInterval"), *interval, "must be a duration such as 10s");
      }
    }
    rr.finish();
    s.retry_settings = settings;
  }
  if (const json* conds = spec.array("conditions"); conds != nullptr) {
    for (size_t i = 0; i < conds->size(); ++i) {
      ObjectReader c(&(*conds)[i], indexPath(spec.pathOf("conditions"), i), diag);
      ClusterSecretStoreCondition cond;
      cond.namespace_selector =
          readLabelSelector(c.object("namespaceSelector"), c.pathOf("namespaceSelector"), diag);
      cond.namespaces = c.stringList("namespaces");
      cond.namespace_regexes = c.stringList("namespaceRegexes");
      for (size_t j = 0; j < cond.namespace_regexes.size(); ++j) {
        const std::string& re = cond.namespace_regexes[j];
        if (auto compiled = common::GoRegexp::compile(re); !compiled.ok()) {
          diag.invalid(
              indexPath(c.pathOf("namespaceRegexes"), j), re,
              absl::StrCat("not a valid regular expression: ", compiled.status().message()));
        }
      }
      c.finish();
      s.conditions.push_back(std::move(cond));
    }
    if (store.kind == StoreKind::kSecretStore && !s.conditions.empty()) {
      // ESO ignores them on a namespaced store; say so rather than pretend they apply.
      diag.unknownField(spec.pathOf("conditions"));
    }
  }
  if (const json* provider = spec.object("provider"); provider != nullptr) {
    ObjectReader p(provider, spec.pathOf("provider"), diag);
    if (provider->size() > 1) {
      diag.forbidden(p.path(), "exactly one provider may be set");
    }
    if (const json* vault = p.object("vault"); vault != nullptr) {
      s.vault = readVault(vault, p.pathOf("vault"), ctx);
    }
    for (const auto& [name, value] : provider->items()) {
      if (name != "vault") {
        p.unsupported(name, absl::StrCat("provider \"", name.substr(0, 64),
                                         "\"; secretsync implements the vault provider only"));
      }
    }
    if (provider->empty()) {
      diag.required(p.path());
    }
    p.finish();
  } else {
    diag.required(spec.pathOf("provider"));
  }
  spec.finish();
  if (const json* status = top.object("status"); status != nullptr) {
    auto conds = status->find("conditions");
    store.status_conditions = internal::parseConditions(conds == status->end() ? nullptr : &*conds);
  }
  top.finish();
  return out;
}

}  // namespace secretsync::api
