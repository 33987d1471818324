#include "test/support/vault_double/vault_double.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "test/support/ascii_util.h"

namespace secretsync::test {

using vault::Capability;
using vault::Envelope;
using vault::errorResponse;
using vault::noContent;
using vault::Operation;

namespace {

std::string trimSlashes(std::string s) {
  while (!s.empty() && s.front() == '/') {
    s.erase(s.begin());
  }
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

bool startsWith(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Parses a request body as Vault does: JSON, or a form when the content type says so and the
// body does not look like JSON. Empty means no fields. nullopt: malformed.
std::optional<nlohmann::json> parseBody(const HttpServerRequest& req) {
  std::string_view body = trimAscii(req.body);
  if (body.empty()) {
    return nlohmann::json::object();
  }
  std::string ct = toLowerAscii(req.header("content-type").value_or(""));
  if (startsWith(ct, "application/x-www-form-urlencoded") && body[0] != '{' && body[0] != '[') {
    nlohmann::json out = nlohmann::json::object();
    std::string_view rest = body;
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view part = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      size_t eq = part.find('=');
      std::string key = urlDecode(part.substr(0, eq), true);
      if (!key.empty()) {
        out[key] = eq == std::string_view::npos ? "" : urlDecode(part.substr(eq + 1), true);
      }
    }
    return out;
  }
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return std::nullopt;
  }
  return parsed;
}

std::string tokenFrom(const HttpServerRequest& req) {
  if (auto t = req.header("x-vault-token"); t.has_value() && !t->empty()) {
    return *t;
  }
  if (auto a = req.header("authorization"); a.has_value() && startsWith(*a, "Bearer ")) {
    return std::string(trimAscii(std::string_view(*a).substr(7)));
  }
  return "";
}

HttpServerResponse withDelay(HttpServerResponse res, std::chrono::milliseconds delay) {
  res.delay += delay;
  return res;
}

HttpServerResponse sysOk(nlohmann::json data, const vault::WireSettings& wire,
                         std::vector<std::string> warnings = {}) {
  Envelope e;
  e.data = std::move(data);
  e.mount_type = "system";
  e.warnings = std::move(warnings);
  return vault::envelopeResponse(e, wire);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lifecycle

VaultDouble::VaultDouble(VaultDoubleOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : common::realClock()),
      cluster_id_(vault::newUuid()),
      wire_(options_.wire),
      tokens_(clock_) {
  namespaces_[""];
  policies_["default"] = vault::defaultPolicy();
}

absl::StatusOr<std::unique_ptr<VaultDouble>> VaultDouble::start(VaultDoubleOptions options) {
  std::unique_ptr<VaultDouble> vd(new VaultDouble(std::move(options)));
  if (!vd->options_.root_token.empty()) {
    vault::TokenSpec root;
    root.id = vd->options_.root_token;
    root.policies = {"root"};
    root.display_name = "root";
    root.path = "auth/token/root";
    root.orphan = true;
    vd->tokens_.create(root);
  }
  if (vd->options_.mount_default_secret) {
    absl::Status st = vd->mountKv("secret", 2);
    if (!st.ok()) {
      return st;
    }
  }
  HttpServerOptions http;
  http.host = vd->options_.host;
  http.port = vd->options_.port;
  http.tls = vd->options_.tls;
  VaultDouble* raw = vd.get();
  auto server =
      HttpServer::start(http, [raw](const HttpServerRequest& req) { return raw->handle(req); });
  if (!server.ok()) {
    return server.status();
  }
  vd->server_ = std::move(*server);
  return vd;
}

VaultDouble::~VaultDouble() {
  if (server_) {
    server_->stop();
  }
}

std::string VaultDouble::baseUrl() const { return server_->baseUrl(); }
uint16_t VaultDouble::port() const { return server_->port(); }

// ---------------------------------------------------------------------------------------------
// Seeding API

void VaultDouble::createNamespace(const std::string& ns) {
  std::lock_guard lock(mu_);
  namespaces_[trimSlashes(ns)];
}

absl::Status VaultDouble::mountKv(const std::string& raw_path, int version,
                                  const std::string& raw_ns) {
  std::string path = trimSlashes(raw_path);
  std::string ns = trimSlashes(raw_ns);
  if (path.empty()) {
    return absl::InvalidArgumentError("empty mount path");
  }
  if (version != 1 && version != 2) {
    return absl::InvalidArgumentError("KV version must be 1 or 2");
  }
  std::lock_guard lock(mu_);
  return mountLocked(ns, path, version);
}

absl::Status VaultDouble::mountLocked(const std::string& ns, const std::string& path, int version) {
  if (path.empty()) {
    return absl::InvalidArgumentError("empty mount path");
  }
  static const std::vector<std::string> kReserved = {"sys", "auth", "cubbyhole", "identity"};
  for (const auto& r : kReserved) {
    if (path == r || startsWith(path, r + "/")) {
      return absl::InvalidArgumentError(absl::StrCat("cannot mount under \"", r, "/\""));
    }
  }
  Namespace& space = namespaces_[ns];
  for (const auto& [existing, entry] : space.mounts) {
    if (startsWith(path + "/", existing + "/") || startsWith(existing + "/", path + "/")) {
      return absl::AlreadyExistsError(absl::StrCat("path is already in use at ", existing, "/"));
    }
  }
  MountEntry m;
  m.path = path;
  m.accessor = absl::StrCat("kv_", toLowerAscii(vault::randomAlnum(8)));
  m.uuid = vault::newUuid();
  if (version == 2) {
    m.engine = std::make_unique<vault::KvV2Engine>();
  } else {
    m.engine = std::make_unique<vault::KvV1Engine>();
  }
  space.mounts.emplace(path, std::move(m));
  return absl::OkStatus();
}

absl::Status VaultDouble::unmount(const std::string& path, const std::string& ns) {
  std::lock_guard lock(mu_);
  auto it = namespaces_.find(trimSlashes(ns));
  if (it == namespaces_.end() || it->second.mounts.erase(trimSlashes(path)) == 0) {
    return absl::NotFoundError(absl::StrCat("no mount at ", path));
  }
  return absl::OkStatus();
}

VaultDouble::MountEntry* VaultDouble::exactMount(const std::string& ns, const std::string& mount) {
  auto it = namespaces_.find(trimSlashes(ns));
  if (it == namespaces_.end()) {
    return nullptr;
  }
  auto m = it->second.mounts.find(trimSlashes(mount));
  return m == it->second.mounts.end() ? nullptr : &m->second;
}

vault::KvV2Engine* VaultDouble::v2(const std::string& ns, const std::string& mount,
                                   absl::Status* status) {
  MountEntry* m = exactMount(ns, mount);
  if (m == nullptr) {
    *status = absl::NotFoundError(absl::StrCat("no mount at ", mount));
    return nullptr;
  }
  auto* engine = dynamic_cast<vault::KvV2Engine*>(m->engine.get());
  if (engine == nullptr) {
    *status = absl::FailedPreconditionError(absl::StrCat(mount, " is not a KV v2 mount"));
  }
  return engine;
}

absl::StatusOr<int64_t> VaultDouble::putSecret(const std::string& mount, const std::string& path,
                                               const nlohmann::json& data, const std::string& ns) {
  std::lock_guard lock(mu_);
  MountEntry* m = exactMount(ns, mount);
  if (m == nullptr) {
    return absl::NotFoundError(absl::StrCat("no mount at ", mount));
  }
  if (auto* v1 = dynamic_cast<vault::KvV1Engine*>(m->engine.get())) {
    if (!data.is_object()) {
      return absl::InvalidArgumentError("data must be an object");
    }
    v1->put(trimSlashes(path), data);
    return 0;
  }
  return static_cast<vault::KvV2Engine*>(m->engine.get())
      ->put(trimSlashes(path), data, std::nullopt, clock_.now());
}

absl::Status VaultDouble::deleteVersions(const std::string& mount, const std::string& path,
                                         const std::vector<int64_t>& versions,
                                         const std::string& ns) {
  std::lock_guard lock(mu_);
  absl::Status st;
  auto* e = v2(ns, mount, &st);
  return e == nullptr ? st : e->deleteVersions(trimSlashes(path), versions, clock_.now());
}

absl::Status VaultDouble::undeleteVersions(const std::string& mount, const std::string& path,
                                           const std::vector<int64_t>& versions,
                                           const std::string& ns) {
  std::lock_guard lock(mu_);
  absl::Status st;
  auto* e = v2(ns, mount, &st);
  return e == nullptr ? st : e->undeleteVersions(trimSlashes(path), versions, clock_.now());
}

absl::Status VaultDouble::destroyVersions(const std::string& mount, const std::string& path,
                                          const std::vector<int64_t>& versions,
                                          const std::string& ns) {
  std::lock_guard lock(mu_);
  absl::Status st;
  auto* e = v2(ns, mount, &st);
  return e == nullptr ? st : e->destroyVersions(trimSlashes(path), versions);
}

absl::Status VaultDouble::setCustomMetadata(const std::string& mount, const std::string& path,
                                            const std::map<std::string, std::string>& custom,
                                            const std::string& ns) {
  std::lock_guard lock(mu_);
  absl::Status st;
  auto* e = v2(ns, mount, &st);
  if (e == nullptr) {
    return st;
  }
  e->keyMetadata(trimSlashes(path), clock_.now()).custom_metadata = custom;
  return absl::OkStatus();
}

absl::Status VaultDouble::setKeySettings(const std::string& mount, const std::string& path,
                                         const KvKeySettings& settings, const std::string& ns) {
  std::lock_guard lock(mu_);
  absl::Status st;
  auto* e = v2(ns, mount, &st);
  if (e == nullptr) {
    return st;
  }
  vault::KvKey& key = e->keyMetadata(trimSlashes(path), clock_.now());
  key.max_versions = settings.max_versions;
  key.cas_required = settings.cas_required;
  key.delete_version_after = settings.delete_version_after;
  return absl::OkStatus();
}

absl::Status VaultDouble::setKvConfig(const std::string& mount, const KvKeySettings& settings,
                                      const std::string& ns) {
  std::lock_guard lock(mu_);
  absl::Status st;
  auto* e = v2(ns, mount, &st);
  if (e == nullptr) {
    return st;
  }
  e->max_versions = settings.max_versions;
  e->cas_required = settings.cas_required;
  e->delete_version_after = settings.delete_version_after;
  return absl::OkStatus();
}

std::optional<nlohmann::json> VaultDouble::readSecret(const std::string& mount,
                                                      const std::string& path, int64_t version,
                                                      const std::string& ns) {
  std::lock_guard lock(mu_);
  MountEntry* m = exactMount(ns, mount);
  if (m == nullptr) {
    return std::nullopt;
  }
  if (auto* v1 = dynamic_cast<vault::KvV1Engine*>(m->engine.get())) {
    return v1->get(trimSlashes(path));
  }
  const vault::KvKey* key =
      static_cast<vault::KvV2Engine*>(m->engine.get())->findKey(trimSlashes(path));
  if (key == nullptr) {
    return std::nullopt;
  }
  auto v = key->versions.find(version > 0 ? version : key->current_version);
  if (v == key->versions.end() || v->second.destroyed ||
      (v->second.deletion_time.has_value() && *v->second.deletion_time <= clock_.now())) {
    return std::nullopt;
  }
  return v->second.data;
}

std::string VaultDouble::createToken(const std::vector<std::string>& policies,
                                     std::chrono::seconds ttl, std::chrono::seconds max_ttl,
                                     bool renewable) {
  vault::TokenSpec spec;
  spec.policies = policies;
  spec.ttl = ttl;
  spec.max_ttl = max_ttl;
  spec.renewable = renewable;
  return createTokenWithSpec(spec);
}

std::string VaultDouble::createTokenWithSpec(const vault::TokenSpec& spec) {
  std::lock_guard lock(mu_);
  return tokens_.create(spec).id;
}

bool VaultDouble::revokeToken(const std::string& id) {
  std::lock_guard lock(mu_);
  return tokens_.revoke(id);
}

bool VaultDouble::tokenValid(const std::string& id) {
  std::lock_guard lock(mu_);
  return tokens_.lookup(id) != nullptr;
}

std::optional<int64_t> VaultDouble::tokenTtl(const std::string& id) {
  std::lock_guard lock(mu_);
  vault::Token* t = tokens_.lookup(id);
  if (t == nullptr) {
    return std::nullopt;
  }
  return t->ttlSeconds(clock_.monotonicNow());
}

void VaultDouble::putPolicy(const std::string& name, std::vector<vault::PathRule> rules) {
  vault::Policy p;
  p.name = name;
  p.rules = std::move(rules);
  p.hcl = vault::policyToHcl(p);
  std::lock_guard lock(mu_);
  policies_[name] = std::move(p);
}

absl::Status VaultDouble::putPolicyHcl(const std::string& name, const std::string& hcl) {
  auto p = vault::parsePolicyHcl(name, hcl);
  if (!p.ok()) {
    return p.status();
  }
  std::lock_guard lock(mu_);
  policies_[name] = std::move(*p);
  return absl::OkStatus();
}

void VaultDouble::deletePolicy(const std::string& name) {
  std::lock_guard lock(mu_);
  policies_.erase(name);
}

void VaultDouble::enableKubernetesAuth(const std::string& mount,
                                       vault::KubernetesAuthConfig config) {
  std::lock_guard lock(mu_);
  kubernetes_[trimSlashes(mount)].config = std::move(config);
}

void VaultDouble::setTokenReviewer(const std::string& mount, vault::TokenReviewer reviewer) {
  std::lock_guard lock(mu_);
  kubernetes_[trimSlashes(mount)].config.token_reviewer = std::move(reviewer);
}

absl::Status VaultDouble::addKubernetesRole(const std::string& mount, vault::KubernetesRole role) {
  if (role.name.empty()) {
    return absl::InvalidArgumentError("role name is required");
  }
  if (role.bound_service_account_names.empty() || role.bound_service_account_namespaces.empty()) {
    return absl::InvalidArgumentError(
        "\"bound_service_account_names\" and \"bound_service_account_namespaces\" can not be "
        "empty");
  }
  if (role.token_max_ttl.count() > 0 && role.token_ttl > role.token_max_ttl) {
    return absl::InvalidArgumentError("token ttl should not be greater than token max ttl");
  }
  std::lock_guard lock(mu_);
  kubernetes_[trimSlashes(mount)].roles[role.name] = std::move(role);
  return absl::OkStatus();
}

absl::Status VaultDouble::addAppRole(vault::AppRole role, const std::string& mount) {
  if (role.name.empty() || role.role_id.empty()) {
    return absl::InvalidArgumentError("role name and role_id are required");
  }
  std::lock_guard lock(mu_);
  auto& roles = approle_[trimSlashes(mount)];
  roles.erase(std::remove_if(roles.begin(), roles.end(),
                             [&](const vault::AppRole& r) { return r.name == role.name; }),
              roles.end());
  roles.push_back(std::move(role));
  return absl::OkStatus();
}

void VaultDouble::enableJwtAuth(const std::string& mount, vault::JwtAuthConfig config) {
  std::lock_guard lock(mu_);
  jwt_[trimSlashes(mount)].config = std::move(config);
}

absl::Status VaultDouble::addJwtRole(const std::string& mount, vault::JwtRole role) {
  if (role.name.empty()) {
    return absl::InvalidArgumentError("role name is required");
  }
  std::lock_guard lock(mu_);
  auto& roles = jwt_[trimSlashes(mount)].roles;
  roles.erase(std::remove_if(roles.begin(), roles.end(),
                             [&](const vault::JwtRole& r) { return r.name == role.name; }),
              roles.end());
  roles.push_back(std::move(role));
  return absl::OkStatus();
}

void VaultDouble::setSealed(bool sealed) {
  std::lock_guard lock(mu_);
  sealed_ = sealed;
}

bool VaultDouble::sealed() const {
  std::lock_guard lock(mu_);
  return sealed_;
}

void VaultDouble::setStandby(bool standby) {
  std::lock_guard lock(mu_);
  standby_ = standby;
}

void VaultDouble::setWireSettings(const vault::WireSettings& settings) {
  std::lock_guard lock(mu_);
  wire_ = settings;
}

vault::WireSettings VaultDouble::wireSettings() const {
  std::lock_guard lock(mu_);
  return wire_;
}

uint64_t VaultDouble::addFault(vault::FaultRule rule) {
  std::lock_guard lock(mu_);
  return faults_.add(std::move(rule));
}

void VaultDouble::removeFault(uint64_t id) {
  std::lock_guard lock(mu_);
  faults_.remove(id);
}

void VaultDouble::clearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

uint64_t VaultDouble::faultHits(uint64_t id) const {
  std::lock_guard lock(mu_);
  return faults_.hits(id);
}

uint64_t VaultDouble::requestCount() const {
  std::lock_guard lock(mu_);
  return total_requests_;
}

uint64_t VaultDouble::requestCount(const std::string& method, const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = requests_.find({method, path});
  return it == requests_.end() ? 0 : it->second;
}

uint64_t VaultDouble::loginCount(const std::string& mount) const {
  std::lock_guard lock(mu_);
  auto it = logins_.find(mount);
  return it == logins_.end() ? 0 : it->second;
}

uint64_t VaultDouble::loginSuccessCount(const std::string& mount) const {
  std::lock_guard lock(mu_);
  auto it = login_successes_.find(mount);
  return it == login_successes_.end() ? 0 : it->second;
}

void VaultDouble::resetCounters() {
  std::lock_guard lock(mu_);
  total_requests_ = 0;
  requests_.clear();
  logins_.clear();
  login_successes_.clear();
}

std::optional<HttpServerRequest> VaultDouble::lastRequest() const {
  std::lock_guard lock(mu_);
  return last_request_;
}

// ---------------------------------------------------------------------------------------------
// HTTP

HttpServerResponse VaultDouble::handle(const HttpServerRequest& req) {
  HttpServerResponse res;
  try {
    if (!startsWith(req.path, "/v1/")) {
      res = errorResponse(404, {});
    } else {
      std::string path = req.path.substr(4);
      std::optional<vault::FaultRule> fault;
      {
        std::lock_guard lock(mu_);
        ++total_requests_;
        ++requests_[{req.method, path}];
        last_request_ = req;
        fault = faults_.match(req.method, path);
      }
      std::chrono::milliseconds delay{0};
      if (fault.has_value()) {
        delay = fault->latency;
        if (fault->drop_connection) {
          HttpServerResponse drop;
          drop.drop_connection = true;
          drop.delay = delay;
          return drop;
        }
      }
      if (fault.has_value() && (fault->status != 0 || !fault->redirect_to.empty())) {
        res = withDelay(vault::faultResponse(*fault, req), delay);
      } else {
        res = withDelay(route(req, path), delay);
      }
    }
  } catch (const std::exception& e) {
    res = errorResponse(500, {absl::StrCat("internal error: ", e.what())});
  } catch (...) {
    res = errorResponse(500, {"internal error"});
  }
  if (auto ns = req.header("x-vault-namespace"); ns.has_value()) {
    res.headers.emplace_back("X-Vault-Namespace", *ns);
  }
  return res;
}

vault::Acl VaultDouble::aclFor(const vault::Token& token) const {
  std::vector<const vault::Policy*> policies;
  bool root = false;
  for (const auto& name : token.policies) {
    if (name == "root") {
      root = true;
      continue;
    }
    auto it = policies_.find(name);
    if (it != policies_.end()) {
      policies.push_back(&it->second);
    }
  }
  return vault::Acl(policies, root);
}

VaultDouble::MountEntry* VaultDouble::findMount(const std::string& ns, const std::string& path,
                                                std::string* rel) {
  auto space = namespaces_.find(ns);
  if (space == namespaces_.end()) {
    return nullptr;
  }
  MountEntry* best = nullptr;
  for (auto& [mount_path, entry] : space->second.mounts) {
    if (path == mount_path || startsWith(path, mount_path + "/")) {
      if (best == nullptr || mount_path.size() > best->path.size()) {
        best = &entry;
      }
    }
  }
  if (best != nullptr) {
    *rel = path.size() > best->path.size() ? path.substr(best->path.size() + 1) : "";
  }
  return best;
}

nlohmann::json VaultDouble::mountInfo(const std::string& ns, const MountEntry& m) const {
  return {
      {"accessor", m.accessor},
      {"config", {{"default_lease_ttl", 0}, {"force_no_cache", false}, {"max_lease_ttl", 0}}},
      {"description", ""},
      {"external_entropy_access", false},
      {"local", false},
      {"options", {{"version", std::to_string(m.engine->version())}}},
      {"path", absl::StrCat(ns.empty() ? "" : ns + "/", m.path, "/")},
      {"plugin_version", ""},
      {"running_plugin_version", "v0.26.2+builtin"},
      {"running_sha256", ""},
      {"seal_wrap", false},
      {"type", "kv"},
      {"uuid", m.uuid},
  };
}

HttpServerResponse VaultDouble::route(const HttpServerRequest& req, const std::string& raw_path) {
  const std::string ns = trimSlashes(req.header("x-vault-namespace").value_or(""));
  if (raw_path == "sys/health") {
    return health(req, ns);
  }
  if (raw_path == "sys/seal-status") {
    return sealStatus(req);
  }
  if (raw_path == "sys/init") {
    if (req.method != "GET") {
      return errorResponse(405, {});
    }
    return vault::jsonResponse(200, vault::encodeJson(nlohmann::json{{"initialized", true}}));
  }

  std::unique_lock lock(mu_);
  const vault::WireSettings wire = wire_;
  if (sealed_) {
    return errorResponse(503, {"Vault is sealed"});
  }

  // Method → operation (§0.1).
  Operation op;
  std::string path = raw_path;
  const std::string& m = req.method;
  if (m == "GET" || m == "HEAD") {
    op = Operation::kRead;
    if (auto list = req.queryParam("list"); list.has_value() && m == "GET") {
      auto b = vault::parseGoBool(*list);
      if (!b.has_value()) {
        return errorResponse(400, {});
      }
      if (*b) {
        op = Operation::kList;
      }
    }
  } else if (m == "LIST") {
    op = Operation::kList;
  } else if (m == "POST" || m == "PUT") {
    op = Operation::kWrite;
  } else if (m == "PATCH") {
    op = Operation::kPatch;
    std::string ct = req.header("content-type").value_or("");
    std::string media = toLowerAscii(trimAscii(std::string_view(ct).substr(0, ct.find(';'))));
    if (media != "application/merge-patch+json") {
      return errorResponse(
          415, {absl::StrCat("PATCH requires Content-Type of application/merge-patch+json, "
                             "provided ",
                             ct)});
    }
  } else if (m == "DELETE") {
    op = Operation::kDelete;
  } else {
    return errorResponse(405, {});
  }
  if (op == Operation::kList && (path.empty() || path.back() != '/')) {
    path += "/";
  }

  // Fields: query parameters for reads, lists and deletes; the body for writes.
  nlohmann::json fields = nlohmann::json::object();
  if (op == Operation::kWrite || op == Operation::kPatch) {
    auto body = parseBody(req);
    if (!body.has_value()) {
      return errorResponse(400, {"error parsing JSON"});
    }
    fields = std::move(*body);
  } else {
    for (const auto& [k, v] : req.query) {
      if (k != "list" && !fields.contains(k)) {
        fields[k] = v;
      }
    }
  }

  if (!ns.empty() && namespaces_.count(ns) == 0) {
    return vault::permissionDenied(wire);
  }

  // Logins need no token.
  if (startsWith(path, "auth/") && path.size() > 11 &&
      path.compare(path.size() - 6, 6, "/login") == 0) {
    std::string mount = path.substr(5, path.size() - 11);
    if (kubernetes_.count(mount) || approle_.count(mount) || jwt_.count(mount)) {
      ++logins_[mount];
      if (op != Operation::kWrite) {
        return errorResponse(405, {"unsupported operation"});
      }
      return login(lock, mount, fields);
    }
  }

  std::string token_id = tokenFrom(req);
  if (token_id.empty()) {
    return vault::permissionDenied(wire);
  }
  vault::Token* token = tokens_.lookup(token_id);
  if (token == nullptr) {
    return vault::invalidTokenError(wire);
  }
  const vault::Acl acl = aclFor(*token);

  if (startsWith(path, "sys/internal/ui/mounts/") || path == "sys/internal/ui/mounts") {
    if (op != Operation::kRead) {
      return errorResponse(405, {"unsupported operation"});
    }
    return preflight(path.size() > 23 ? path.substr(23) : "", ns, acl);
  }
  if (startsWith(path, "auth/token/")) {
    return tokenEndpoint(path, op, fields, *token, acl);
  }
  if (startsWith(path, "sys/")) {
    bool handled = false;
    HttpServerResponse res = sysEndpoint(path, op, fields, ns, acl, &handled);
    if (handled) {
      return res;
    }
  }

  // Secrets engines.
  const std::string acl_path = ns.empty() ? path : absl::StrCat(ns, "/", path);
  std::string rel;
  MountEntry* mount = findMount(ns, path, &rel);
  Capability cap = Capability::kRead;
  switch (op) {
    case Operation::kRead:
      cap = Capability::kRead;
      break;
    case Operation::kList:
      cap = Capability::kList;
      break;
    case Operation::kWrite:
      cap = (mount != nullptr && mount->engine->exists(rel)) ? Capability::kUpdate
                                                             : Capability::kCreate;
      break;
    case Operation::kPatch:
      cap = Capability::kPatch;
      break;
    case Operation::kDelete:
      cap = Capability::kDelete;
      break;
  }
  if (!acl.allows(acl_path, cap)) {
    return vault::permissionDenied(wire);
  }
  if (mount == nullptr) {
    return errorResponse(
        404, {absl::StrCat("no handler for route \"", path, "\". route entry not found.")});
  }
  vault::KvRequest kv_req;
  kv_req.op = op;
  kv_req.rel = rel;
  kv_req.fields = std::move(fields);
  vault::KvContext ctx{wire, clock_.now()};
  return mount->engine->handle(kv_req, ctx);
}

HttpServerResponse VaultDouble::login(std::unique_lock<std::mutex>& lock, const std::string& mount,
                                      const nlohmann::json& body) {
  const vault::WireSettings wire = wire_;
  vault::LoginOutcome outcome;
  std::string mount_type;
  if (auto k = kubernetes_.find(mount); k != kubernetes_.end()) {
    mount_type = "kubernetes";
    vault::KubernetesAuthConfig config = k->second.config;
    std::string role_name = vault::stringField(body, "role");
    std::optional<vault::KubernetesRole> role;
    if (auto r = k->second.roles.find(role_name); r != k->second.roles.end()) {
      role = r->second;
    }
    std::string jwt = vault::stringField(body, "jwt");
    // The reviewer may call out (the API-server double): never hold the lock across it.
    lock.unlock();
    outcome = vault::kubernetesLogin(mount, config, role_name, role, jwt, clock_.now());
    lock.lock();
  } else if (auto a = approle_.find(mount); a != approle_.end()) {
    mount_type = "approle";
    outcome = vault::appRoleLogin(mount, a->second, body);
  } else if (auto j = jwt_.find(mount); j != jwt_.end()) {
    mount_type = "jwt";
    outcome = vault::jwtLogin(mount, j->second.config, j->second.roles, body, clock_.now());
  }
  if (outcome.status != 200) {
    if (outcome.core_error) {
      return vault::coreError(outcome.status, outcome.errors, wire);
    }
    return errorResponse(outcome.status, outcome.errors);
  }
  if (sealed_) {
    return errorResponse(503, {"Vault is sealed"});
  }
  vault::Token& token = tokens_.create(outcome.token);
  ++login_successes_[mount];
  Envelope e;
  e.auth = tokens_.authBlock(token);
  e.mount_type = mount_type;
  return vault::envelopeResponse(e, wire);
}

HttpServerResponse VaultDouble::tokenEndpoint(const std::string& path, Operation op,
                                              const nlohmann::json& fields, vault::Token& token,
                                              const vault::Acl& acl) {
  const vault::WireSettings& wire = wire_;
  auto tokenOk = [&](nlohmann::json data, nlohmann::json auth,
                     std::vector<std::string> warnings = {}) {
    Envelope e;
    e.data = std::move(data);
    e.auth = std::move(auth);
    e.warnings = std::move(warnings);
    e.mount_type = "token";
    return vault::envelopeResponse(e, wire);
  };
  Capability cap = op == Operation::kRead     ? Capability::kRead
                   : op == Operation::kList   ? Capability::kList
                   : op == Operation::kDelete ? Capability::kDelete
                                              : Capability::kUpdate;
  if (!acl.allows(path, cap) &&
      !(cap == Capability::kUpdate && acl.allows(path, Capability::kCreate))) {
    return vault::permissionDenied(wire);
  }
  if (path == "auth/token/lookup-self") {
    if (op != Operation::kRead && op != Operation::kWrite) {
      return errorResponse(405, {"unsupported operation"});
    }
    return tokenOk(tokens_.lookupData(token), nullptr);
  }
  if (path == "auth/token/renew-self") {
    if (op != Operation::kWrite) {
      return errorResponse(405, {"unsupported operation"});
    }
    std::chrono::seconds increment{0};
    if (auto it = fields.find("increment"); it != fields.end()) {
      auto d = vault::parseDuration(*it);
      if (!d.has_value()) {
        return errorResponse(400, {"error converting input for field \"increment\""});
      }
      increment = *d;
    }
    vault::RenewResult r = tokens_.renew(token, increment);
    if (!r.error.empty()) {
      return errorResponse(400, {r.error});
    }
    return tokenOk(nullptr, tokens_.authBlock(token), r.warnings);
  }
  if (path == "auth/token/revoke-self") {
    if (op != Operation::kWrite) {
      return errorResponse(405, {"unsupported operation"});
    }
    tokens_.revoke(token.id);
    return noContent();
  }
  if (path == "auth/token/lookup" || path == "auth/token/revoke") {
    if (op != Operation::kWrite) {
      return errorResponse(405, {"unsupported operation"});
    }
    std::string other = vault::stringField(fields, "token");
    if (other.empty()) {
      return errorResponse(400, {"missing token"});
    }
    if (path == "auth/token/revoke") {
      tokens_.revoke(other);
      return noContent();
    }
    vault::Token* t = tokens_.lookup(other);
    if (t == nullptr) {
      return errorResponse(403, {"bad token"});
    }
    return tokenOk(tokens_.lookupData(*t), nullptr);
  }
  if (path == "auth/token/create" || path == "auth/token/create-orphan") {
    if (op != Operation::kWrite) {
      return errorResponse(405, {"unsupported operation"});
    }
    vault::TokenSpec spec;
    spec.orphan = path == "auth/token/create-orphan";
    if (auto it = fields.find("policies"); it != fields.end() && it->is_array()) {
      for (const auto& p : *it) {
        if (p.is_string()) {
          spec.policies.push_back(p.get<std::string>());
        }
      }
    } else {
      for (const auto& p : token.policies) {
        if (p != "default" && (p != "root" || token.isRoot())) {
          spec.policies.push_back(p);
        }
      }
    }
    if (!token.isRoot() &&
        std::find(spec.policies.begin(), spec.policies.end(), "root") != spec.policies.end()) {
      return errorResponse(400, {"root tokens may not be created without a root parent"});
    }
    if (auto it = fields.find("ttl"); it != fields.end()) {
      auto d = vault::parseDuration(*it);
      if (!d) {
        return errorResponse(400, {"error converting input for field \"ttl\""});
      }
      spec.ttl = *d;
    }
    if (auto it = fields.find("explicit_max_ttl"); it != fields.end()) {
      auto d = vault::parseDuration(*it);
      if (!d) {
        return errorResponse(400, {"error converting input for field \"explicit_max_ttl\""});
      }
      spec.max_ttl = *d;
    }
    if (auto it = fields.find("renewable"); it != fields.end() && it->is_boolean()) {
      spec.renewable = it->get<bool>();
    }
    if (auto it = fields.find("no_default_policy"); it != fields.end() && it->is_boolean()) {
      spec.no_default_policy = it->get<bool>();
    }
    if (auto it = fields.find("meta"); it != fields.end() && it->is_object()) {
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (m->is_string()) {
          spec.meta[m.key()] = m->get<std::string>();
        }
      }
    }
    std::string display = vault::stringField(fields, "display_name");
    spec.display_name = display.empty() ? "token" : absl::StrCat("token-", display);
    std::string id = vault::stringField(fields, "id");
    if (!id.empty()) {
      if (!token.isRoot()) {
        return errorResponse(400, {"root or sudo privileges required to specify token id"});
      }
      spec.id = id;
    }
    vault::Token& created = tokens_.create(spec);
    return tokenOk(nullptr, tokens_.authBlock(created));
  }
  return errorResponse(
      404, {absl::StrCat("no handler for route \"", path, "\". route entry not found.")});
}

HttpServerResponse VaultDouble::preflight(const std::string& raw, const std::string& ns,
                                          const vault::Acl& acl) {
  std::string path = trimSlashes(raw);
  std::string rel;
  MountEntry* mount = findMount(ns, path, &rel);
  std::string full_mount =
      mount == nullptr ? "" : absl::StrCat(ns.empty() ? "" : ns + "/", mount->path, "/");
  if (mount == nullptr || !acl.allowsAnythingUnder(full_mount)) {
    return errorResponse(403, {absl::StrCat("preflight capability check returned 403, please "
                                            "ensure client's policies grant access to path \"",
                                            path, "/\"")});
  }
  return sysOk(mountInfo(ns, *mount), wire_);
}

HttpServerResponse VaultDouble::sysEndpoint(const std::string& path, Operation op,
                                            const nlohmann::json& fields, const std::string& ns,
                                            const vault::Acl& acl, bool* handled) {
  *handled = true;
  const vault::WireSettings& wire = wire_;
  auto need = [&](Capability cap) { return acl.allows(path, cap); };
  auto writeCap = [&]() {
    return acl.allows(path, Capability::kUpdate) || acl.allows(path, Capability::kCreate);
  };

  // Mounts.
  if (path == "sys/mounts") {
    if (op != Operation::kRead) {
      return errorResponse(405, {"unsupported operation"});
    }
    if (!need(Capability::kRead)) {
      return vault::permissionDenied(wire);
    }
    nlohmann::json table = nlohmann::json::object();
    if (auto space = namespaces_.find(ns); space != namespaces_.end()) {
      for (const auto& [p, m] : space->second.mounts) {
        table[p + "/"] = mountInfo(ns, m);
      }
    }
    // sys list routes carry the table both at top level and under data (HTTPSysInjector).
    nlohmann::json body = table;
    body["request_id"] = vault::newUuid();
    body["lease_id"] = "";
    body["renewable"] = false;
    body["lease_duration"] = 0;
    body["data"] = table;
    body["wrap_info"] = nullptr;
    body["warnings"] = nullptr;
    body["auth"] = nullptr;
    if (wire.mount_type_field) {
      body["mount_type"] = "system";
    }
    return vault::jsonResponse(200, vault::encodeJson(body));
  }
  if (startsWith(path, "sys/mounts/")) {
    std::string mount_path = trimSlashes(path.substr(11));
    if (op == Operation::kWrite) {
      if (!writeCap()) {
        return vault::permissionDenied(wire);
      }
      std::string type = vault::stringField(fields, "type");
      std::string version = "1";
      if (auto o = fields.find("options"); o != fields.end() && o->is_object()) {
        version = vault::stringField(*o, "version");
        if (version.empty()) {
          version = "1";
        }
      }
      if (type == "kv-v2") {
        type = "kv";
        version = "2";
      } else if (type == "kv-v1") {
        type = "kv";
        version = "1";
      }
      if (type != "kv") {
        return errorResponse(400, {absl::StrCat("plugin not found in the catalog: ", type)});
      }
      if (version != "1" && version != "2") {
        return errorResponse(400, {absl::StrCat("invalid version: ", version)});
      }
      absl::Status st = mountLocked(ns, mount_path, version == "2" ? 2 : 1);
      if (!st.ok()) {
        return errorResponse(400, {std::string(st.message())});
      }
      return noContent();
    }
    if (op == Operation::kDelete) {
      if (!need(Capability::kDelete)) {
        return vault::permissionDenied(wire);
      }
      namespaces_[ns].mounts.erase(mount_path);
      return noContent();
    }
    return errorResponse(405, {"unsupported operation"});
  }

  // ACL policies.
  if (path == "sys/policies/acl/" || path == "sys/policy/") {
    if (op != Operation::kList && !(path == "sys/policy/" && op == Operation::kRead)) {
      return errorResponse(405, {"unsupported operation"});
    }
    if (!acl.allows(path, Capability::kList) && !acl.allows(path, Capability::kRead)) {
      return vault::permissionDenied(wire);
    }
    std::vector<std::string> names;
    for (const auto& [name, p] : policies_) {
      names.push_back(name);
    }
    names.push_back("root");
    std::sort(names.begin(), names.end());
    return sysOk({{"keys", names}, {"policies", names}}, wire);
  }
  if (startsWith(path, "sys/policies/acl/")) {
    std::string name = path.substr(17);
    if (op == Operation::kRead) {
      if (!need(Capability::kRead)) {
        return vault::permissionDenied(wire);
      }
      if (name == "root") {
        return sysOk({{"name", "root"}, {"policy", ""}}, wire);
      }
      auto it = policies_.find(name);
      if (it == policies_.end()) {
        return errorResponse(404, {});
      }
      return sysOk({{"name", name}, {"policy", it->second.hcl}}, wire);
    }
    if (op == Operation::kWrite) {
      if (!writeCap()) {
        return vault::permissionDenied(wire);
      }
      if (name == "root") {
        return errorResponse(400, {"cannot update \"root\" policy"});
      }
      std::string text = vault::stringField(fields, "policy");
      if (text.empty()) {
        return errorResponse(400, {"'policy' parameter not supplied or empty"});
      }
      auto parsed = vault::parsePolicyHcl(name, text);
      if (!parsed.ok()) {
        return errorResponse(400, {std::string(parsed.status().message())});
      }
      policies_[name] = std::move(*parsed);
      return noContent();
    }
    if (op == Operation::kDelete) {
      if (!need(Capability::kDelete)) {
        return vault::permissionDenied(wire);
      }
      if (name == "root" || name == "default") {
        return errorResponse(400, {absl::StrCat("cannot delete \"", name, "\" policy")});
      }
      policies_.erase(name);
      return noContent();
    }
    return errorResponse(405, {"unsupported operation"});
  }

  // Leases: the double issues no leases, so only argument errors and no-op revokes are served.
  if (path == "sys/leases/renew" || path == "sys/leases/revoke" || path == "sys/leases/lookup" ||
      startsWith(path, "sys/leases/renew/") || startsWith(path, "sys/leases/revoke/")) {
    if (op != Operation::kWrite) {
      return errorResponse(405, {"unsupported operation"});
    }
    std::string base = startsWith(path, "sys/leases/renew")    ? "sys/leases/renew"
                       : startsWith(path, "sys/leases/revoke") ? "sys/leases/revoke"
                                                               : "sys/leases/lookup";
    if (!acl.allows(base, Capability::kUpdate) && !acl.allows(path, Capability::kUpdate)) {
      return vault::permissionDenied(wire);
    }
    std::string lease_id = vault::stringField(fields, "lease_id");
    if (lease_id.empty() && path.size() > base.size() + 1) {
      lease_id = path.substr(base.size() + 1);
    }
    if (lease_id.empty()) {
      return errorResponse(400, {"lease_id must be specified"});
    }
    if (base == "sys/leases/revoke") {
      bool sync = true;
      if (auto it = fields.find("sync"); it != fields.end()) {
        if (it->is_boolean()) {
          sync = it->get<bool>();
        } else if (it->is_string()) {
          sync = vault::parseGoBool(it->get<std::string>()).value_or(true);
        }
      }
      return sync ? noContent() : vault::jsonResponse(202, "");
    }
    if (startsWith(lease_id, "auth/")) {
      return errorResponse(400, {"tokens cannot be renewed through this endpoint"});
    }
    return errorResponse(400, {"lease not found"});
  }

  *handled = false;
  return HttpServerResponse{};
}

HttpServerResponse VaultDouble::health(const HttpServerRequest& req, const std::string& ns) {
  if (req.method != "GET" && req.method != "HEAD") {
    return errorResponse(405, {});
  }
  if (!ns.empty()) {
    return errorResponse(400, {"operation unavailable in namespaces"});
  }
  auto code = [&](const char* name, int def) -> std::optional<int> {
    auto v = req.queryParam(name);
    if (!v.has_value()) {
      return def;
    }
    if (v->empty() || v->size() > 4 ||
        !std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    return std::stoi(*v);
  };
  auto flag = [&](const char* name) -> std::optional<bool> {
    auto v = req.queryParam(name);
    if (!v.has_value() || v->empty()) {
      return false;
    }
    return vault::parseGoBool(*v);
  };
  auto active = code("activecode", 200);
  auto standby_code = code("standbycode", 429);
  auto sealed_code = code("sealedcode", 503);
  auto uninit_code = code("uninitcode", 501);
  auto dr = code("drsecondarycode", 472);
  auto perf = code("performancestandbycode", 473);
  auto standbyok = flag("standbyok");
  auto perfstandbyok = flag("perfstandbyok");
  if (!active || !standby_code || !sealed_code || !uninit_code || !dr || !perf || !standbyok ||
      !perfstandbyok) {
    return errorResponse(400, {});
  }
  bool sealed;
  bool standby;
  {
    std::lock_guard lock(mu_);
    sealed = sealed_;
    standby = standby_;
  }
  int status = *active;
  if (sealed) {
    status = *sealed_code;
  } else if (standby && !*standbyok) {
    status = *standby_code;
  }
  nlohmann::json body = {
      {"initialized", true},
      {"sealed", sealed},
      {"standby", standby},
      {"performance_standby", false},
      {"replication_performance_mode", "disabled"},
      {"replication_dr_mode", "disabled"},
      {"server_time_utc",
       std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count()},
      {"version", options_.version},
      {"enterprise", false},
      {"echo_duration_ms", 0},
      {"clock_skew_ms", 0},
  };
  if (!sealed) {
    body["cluster_name"] = "vault-cluster-double";
    body["cluster_id"] = cluster_id_;
  }
  return vault::jsonResponse(status, vault::encodeJson(body));
}

HttpServerResponse VaultDouble::sealStatus(const HttpServerRequest& req) {
  if (req.method != "GET") {
    return errorResponse(405, {});
  }
  bool sealed;
  {
    std::lock_guard lock(mu_);
    sealed = sealed_;
  }
  nlohmann::json body = {
      {"type", "shamir"},
      {"initialized", true},
      {"sealed", sealed},
      {"t", 1},
      {"n", 1},
      {"progress", 0},
      {"nonce", ""},
      {"version", options_.version},
      {"build_date", "2024-01-01T00:00:00Z"},
      {"migration", false},
      {"recovery_seal", false},
      {"storage_type", "inmem"},
  };
  if (!sealed) {
    body["cluster_name"] = "vault-cluster-double";
    body["cluster_id"] = cluster_id_;
  }
  return vault::jsonResponse(200, vault::encodeJson(body));
}

}  // namespace secretsync::test
