#include "test/support/kube_double/kube_double.h"

#include <ctime>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "pkg/common/absl_view.h"
#include "test/support/kube_double/kube_double_internal.h"

namespace secretsync::test {

using kube::ApiError;
using kube::ResourceType;
using kube::StoredObject;

namespace {

std::optional<std::string> bearerToken(const HttpServerRequest& request) {
  std::optional<std::string> auth = request.header("authorization");
  if (!auth.has_value() || auth->size() < 7 || !absl::StartsWithIgnoreCase(*auth, "bearer ")) {
    return std::nullopt;
  }
  return auth->substr(7);
}

HttpServerResponse plainText(int status, const std::string& body) {
  HttpServerResponse res;
  res.status = status;
  res.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
  res.body = body;
  return res;
}

}  // namespace

namespace kube {

std::string formatTime(common::SystemTime t, bool micro) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!micro) {
    return absl::StrCat(buf, "Z");
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(since - secs).count();
  return absl::StrFormat("%s.%06dZ", buf, static_cast<int>(us));
}

bool queryBool(const HttpServerRequest& request, const std::string& name) {
  std::string v = request.queryParam(name).value_or("");
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

bool parseResourcePath(const ResourceRegistry& registry, const std::string& path,
                       ResourcePath* out) {
  std::vector<std::string> segs = absl::StrSplit(path, '/', absl::SkipEmpty());
  size_t base;
  if (segs.size() >= 2 && segs[0] == "api") {
    out->group = "";
    out->version = segs[1];
    base = 2;
  } else if (segs.size() >= 3 && segs[0] == "apis") {
    out->group = segs[1];
    out->version = segs[2];
    base = 3;
  } else {
    return false;
  }
  std::vector<std::string> rest(segs.begin() + static_cast<std::ptrdiff_t>(base), segs.end());
  if (rest.empty()) {
    return false;
  }
  if (rest[0] == "namespaces" && rest.size() >= 3) {
    const ResourceType* type = registry.find(out->group, out->version, rest[2]);
    if (type != nullptr && type->namespaced) {
      if (rest.size() > 5) {
        return false;
      }
      out->type = type;
      out->namespace_name = rest[1];
      out->name = rest.size() >= 4 ? rest[3] : "";
      out->subresource = rest.size() >= 5 ? rest[4] : "";
      return true;
    }
  }
  const ResourceType* type = registry.find(out->group, out->version, rest[0]);
  if (type == nullptr || rest.size() > 3) {
    return false;
  }
  if (type->namespaced && rest.size() > 1) {
    return false;
  }
  out->type = type;
  out->all_namespaces = type->namespaced;
  out->name = rest.size() >= 2 ? rest[1] : "";
  out->subresource = rest.size() >= 3 ? rest[2] : "";
  return true;
}

}  // namespace kube

absl::StatusOr<std::unique_ptr<KubeDouble>> KubeDouble::start(KubeDoubleOptions options) {
  std::unique_ptr<KubeDouble> kd(new KubeDouble(std::move(options)));
  for (const char* ns : {"default", "kube-system", "kube-public"}) {
    absl::Status s = kd->createNamespace(ns);
    if (!s.ok()) {
      return s;
    }
  }
  absl::Status listening = kd->listen();
  if (!listening.ok()) {
    return listening;
  }
  kd->port_ = kd->server_->port();
  kd->base_url_ = kd->server_->baseUrl();
  kd->options_.port = kd->port_;
  return kd;
}

absl::Status KubeDouble::listen() {
  HttpServerOptions server_options;
  server_options.host = options_.host;
  server_options.port = options_.port;
  server_options.tls = options_.tls;
  server_options.max_body_bytes = 3ull << 20;  // MaxRequestBodyBytes
  auto server = HttpServer::start(
      server_options, [this](const HttpServerRequest& request) { return handle(request); });
  if (!server.ok()) {
    return server.status();
  }
  server_ = std::move(*server);
  return absl::OkStatus();
}

absl::Status KubeDouble::restartServer(std::chrono::milliseconds down_for) {
  std::lock_guard restart_lock(restart_mu_);
  // Watch streams end first (as a dying API server closes them), then stop() cuts every
  // connection and joins the handler threads, so nothing uses the old server afterwards.
  closeWatches();
  server_->stop();
  std::this_thread::sleep_for(down_for);
  absl::Status listening = listen();
  if (!listening.ok()) {
    return listening;
  }
  restarts_.fetch_add(1);
  return absl::OkStatus();
}

uint64_t KubeDouble::restarts() const { return restarts_.load(); }

KubeDouble::KubeDouble(KubeDoubleOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &common::realClock()),
      registry_(kube::ResourceRegistry::withDefaults()),
      tokens_(options_.tokens) {
  store_.setHistoryLimit(options_.watch_history);
}

KubeDouble::~KubeDouble() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  std::lock_guard restart_lock(restart_mu_);
  if (server_ != nullptr) {
    server_->stop();
  }
}

std::string KubeDouble::baseUrl() const { return base_url_; }

uint16_t KubeDouble::port() const { return port_; }

std::string KubeDouble::nowTime() const { return kube::formatTime(clock_->now(), false); }

std::string KubeDouble::newUid() {
  // Unique and UUID-shaped; a counter keeps runs reproducible.
  ++uid_counter_;
  return absl::StrFormat("%08x-%04x-4%03x-8%03x-%012x", 0x6b756265u, uid_counter_ >> 16 & 0xffff,
                         (uid_counter_ >> 4) & 0xfff, uid_counter_ & 0xfff, uid_counter_);
}

std::string KubeDouble::storageVersion(const ResourceType& type) const { return type.versions[0]; }

nlohmann::json KubeDouble::presentLocked(const ResourceType& type, const std::string& version,
                                         const nlohmann::json& stored) const {
  nlohmann::json out = stored;
  out["apiVersion"] = type.apiVersion(version);
  out["kind"] = type.kind;
  return out;
}

HttpServerResponse KubeDouble::handle(const HttpServerRequest& request) {
  std::optional<kube::FaultRule> fault;
  {
    std::lock_guard lock(mu_);
    ++total_requests_;
    fault = faults_.match(request.method, request.path);
  }
  if (fault.has_value() && fault->status != 0 && fault->latency.count() == 0) {
    return kube::kubeFaultResponse(*fault);
  }
  HttpServerResponse response;
  if (fault.has_value() && fault->status != 0) {
    response = kube::kubeFaultResponse(*fault);
  } else if (fault.has_value() && fault->drop_connection) {
    response.drop_connection = true;
  } else if (request.path == "/healthz" || request.path == "/livez" || request.path == "/readyz") {
    response = plainText(200, "ok");
  } else {
    RequestContext ctx;
    std::optional<std::string> token = bearerToken(request);
    if (token.has_value()) {
      std::unique_lock lock(mu_);
      auto it = tokens_.find(*token);
      if (it != tokens_.end()) {
        ctx.user = it->second;
      } else {
        lock.unlock();
        auto review = reviewToken(*token, options_.api_audiences);
        if (review.ok()) {
          ctx.user =
              absl::StrCat("system:serviceaccount:", review->namespace_name, ":", review->name);
        }
      }
    }
    if (ctx.user.empty()) {
      response = kube::unauthorized().toResponse();
    } else {
      ctx.field_manager = request.queryParam("fieldManager").value_or("");
      if (ctx.field_manager.empty()) {
        std::string agent = request.header("user-agent").value_or("unknown");
        ctx.field_manager = agent.substr(0, agent.find('/'));
      }
      ctx.dry_run = request.queryParam("dryRun").has_value();
      try {
        response = route(request, ctx);
      } catch (const nlohmann::json::exception& e) {
        // A field of the wrong JSON type somewhere in the body: a decode error, as Go's
        // json.Unmarshal reports it. Operations only change the store after all reads.
        response =
            kube::badRequest(absl::StrCat("the object provided could not be decoded: ", e.what()))
                .toResponse();
      }
    }
  }
  if (fault.has_value()) {
    if (fault->status == 0) {
      // Headers of a rule without a status decorate the served reply (e.g. `Warning: 299 - ...`).
      for (const auto& h : fault->headers) {
        response.headers.push_back(h);
      }
    }
    response.delay = fault->latency;
    response.drop_connection = response.drop_connection || fault->drop_connection;
  }
  return response;
}

HttpServerResponse KubeDouble::route(const HttpServerRequest& request, RequestContext& ctx) {
  const std::string& path = request.path;
  std::string trimmed =
      path.size() > 1 && path.back() == '/' ? path.substr(0, path.size() - 1) : path;
  if (trimmed == "/version") {
    std::vector<std::string> parts = absl::StrSplit(options_.version, '.');
    std::string major = parts.empty() ? "1" : parts[0].substr(parts[0].empty() ? 0 : 1);
    std::string minor = parts.size() > 1 ? parts[1] : "0";
    return kube::jsonResponse(200, {{"major", major},
                                    {"minor", minor},
                                    {"gitVersion", options_.version},
                                    {"gitCommit", "0000000000000000000000000000000000000000"},
                                    {"gitTreeState", "clean"},
                                    {"buildDate", "2026-01-01T00:00:00Z"},
                                    {"goVersion", "go1.22.5"},
                                    {"compiler", "gc"},
                                    {"platform", "linux/amd64"}});
  }
  std::vector<std::string> segs = absl::StrSplit(trimmed, '/', absl::SkipEmpty());
  if (request.method == "GET" && !segs.empty() && segs.size() <= 3 &&
      (segs[0] == "api" || segs[0] == "apis")) {
    std::lock_guard lock(mu_);
    nlohmann::json doc;
    if (segs.size() == 1 && segs[0] == "api") {
      doc = registry_.coreVersions(absl::StrCat(options_.host, ":", port_));
    } else if (segs.size() == 1) {
      doc = registry_.groupList();
    } else if (segs.size() == 2 && segs[0] == "api") {
      doc = registry_.resourceList("", segs[1]);
    } else if (segs.size() == 2) {
      doc = registry_.group(segs[1]);
    } else if (segs[0] == "apis") {
      doc = registry_.resourceList(segs[1], segs[2]);
    }
    if (segs.size() <= 2 || segs[0] == "apis") {
      if (doc.is_null()) {
        return kube::pageNotFound();
      }
      return kube::jsonResponse(200, doc);
    }
  }
  if (trimmed == "/apis/authentication.k8s.io/v1/tokenreviews") {
    if (request.method != "POST") {
      return kube::methodNotAllowed(
                 "the server does not allow this method on the requested resource")
          .toResponse();
    }
    {
      std::lock_guard lock(mu_);
      ++counters_[{"create", "tokenreviews"}];
    }
    return tokenReviewEndpoint(request);
  }
  return serveResource(request, ctx);
}

// --- Seeding and inspection -------------------------------------------------------------------

void KubeDouble::addToken(const std::string& token, const std::string& user) {
  std::lock_guard lock(mu_);
  tokens_[token] = user;
}

void KubeDouble::removeToken(const std::string& token) {
  std::lock_guard lock(mu_);
  tokens_.erase(token);
}

absl::Status KubeDouble::createNamespace(const std::string& name,
                                         const std::map<std::string, std::string>& labels) {
  nlohmann::json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
  if (!labels.empty()) {
    ns["metadata"]["labels"] = labels;
  }
  ns["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
  auto stored = putObject(ns);
  if (!stored.ok()) {
    return stored.status();
  }
  std::lock_guard lock(mu_);
  const ResourceType* sa = registry_.find("", "v1", "serviceaccounts");
  if (store_.find(sa->storageKey(), name, "default") == nullptr) {
    RequestContext ctx;
    ctx.user = "system:kube-controller-manager";
    ctx.field_manager = "kube-controller-manager";
    ctx.internal = true;
    createLocked(*sa, name,
                 {{"apiVersion", "v1"},
                  {"kind", "ServiceAccount"},
                  {"metadata", {{"name", "default"}, {"namespace", name}}}},
                 ctx, true);
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> KubeDouble::putObject(const nlohmann::json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("putObject: not an object");
  }
  std::lock_guard lock(mu_);
  const ResourceType* type =
      registry_.findByKind(object.value("apiVersion", ""), object.value("kind", ""));
  if (type == nullptr) {
    return absl::NotFoundError(absl::StrCat("putObject: no resource for apiVersion \"",
                                            object.value("apiVersion", ""), "\" kind \"",
                                            object.value("kind", ""), "\""));
  }
  std::string ns;
  std::string name;
  if (object.contains("metadata") && object["metadata"].is_object()) {
    ns = object["metadata"].value("namespace", "");
    name = object["metadata"].value("name", "");
  }
  if (type->namespaced && ns.empty()) {
    ns = "default";
  }
  if (!type->namespaced) {
    ns.clear();
  }
  RequestContext ctx;
  ctx.user = "seed";
  ctx.field_manager = "kube-double-seed";
  ctx.internal = true;
  OpResult result;
  StoredObject* existing = store_.find(type->storageKey(), ns, name);
  if (existing == nullptr) {
    result = createLocked(*type, ns, object, ctx, true);
  } else {
    nlohmann::json candidate = object;
    candidate["metadata"]["resourceVersion"] =
        existing->object["metadata"].value("resourceVersion", "");
    result = commitUpdateLocked(*type, ns, name, existing, candidate, ctx, "seed", "update");
  }
  if (result.error.has_value()) {
    return absl::InvalidArgumentError(common::av(result.error->message));
  }
  return result.body;
}

absl::Status KubeDouble::deleteObject(const std::string& api_version, const std::string& kind,
                                      const std::string& namespace_name, const std::string& name) {
  std::lock_guard lock(mu_);
  const ResourceType* type = registry_.findByKind(api_version, kind);
  if (type == nullptr) {
    return absl::NotFoundError(absl::StrCat("no resource for ", kind));
  }
  RequestContext ctx;
  ctx.user = "seed";
  ctx.internal = true;
  OpResult r = deleteLocked(*type, type->namespaced ? namespace_name : "", name,
                            nlohmann::json::object(), "Background", ctx);
  if (r.error.has_value()) {
    return r.error->code == 404 ? absl::NotFoundError(common::av(r.error->message))
                                : absl::FailedPreconditionError(common::av(r.error->message));
  }
  return absl::OkStatus();
}

std::optional<nlohmann::json> KubeDouble::getObject(const std::string& api_version,
                                                    const std::string& kind,
                                                    const std::string& namespace_name,
                                                    const std::string& name) const {
  std::lock_guard lock(mu_);
  const ResourceType* type = registry_.findByKind(api_version, kind);
  if (type == nullptr) {
    return std::nullopt;
  }
  auto* self = const_cast<KubeDouble*>(this);
  StoredObject* stored =
      self->store_.find(type->storageKey(), type->namespaced ? namespace_name : "", name);
  if (stored == nullptr) {
    return std::nullopt;
  }
  std::string group;
  std::string version;
  kube::splitApiVersion(api_version, &group, &version);
  return presentLocked(*type, version, stored->object);
}

std::vector<nlohmann::json> KubeDouble::listObjects(const std::string& api_version,
                                                    const std::string& kind,
                                                    const std::string& namespace_name) const {
  std::lock_guard lock(mu_);
  std::vector<nlohmann::json> out;
  const ResourceType* type = registry_.findByKind(api_version, kind);
  if (type == nullptr) {
    return out;
  }
  std::string group;
  std::string version;
  kube::splitApiVersion(api_version, &group, &version);
  for (const auto& [key, stored] : store_.list(type->storageKey(), namespace_name)) {
    out.push_back(presentLocked(*type, version, stored->object));
  }
  return out;
}

void KubeDouble::addResourceType(ResourceType type) {
  std::lock_guard lock(mu_);
  registry_.add(std::move(type));
}

// --- Watch control, faults, counters ----------------------------------------------------------

uint64_t KubeDouble::currentResourceVersion() const {
  std::lock_guard lock(mu_);
  return store_.currentRv();
}

void KubeDouble::setBookmarkInterval(std::chrono::milliseconds interval) {
  std::lock_guard lock(mu_);
  options_.bookmark_interval = interval;
}

void KubeDouble::setWatchHistoryLimit(size_t changes) {
  std::lock_guard lock(mu_);
  store_.setHistoryLimit(changes);
}

void KubeDouble::compactHistory() {
  std::lock_guard lock(mu_);
  store_.compactAll();
}

void KubeDouble::forceGoneOnNextWatch() {
  std::lock_guard lock(mu_);
  force_gone_ = true;
}

void KubeDouble::closeWatches() {
  {
    std::lock_guard lock(mu_);
    ++watch_epoch_;
  }
  changed_.notify_all();
}

size_t KubeDouble::openWatches() const {
  std::lock_guard lock(mu_);
  return open_watches_;
}

uint64_t KubeDouble::addFault(kube::FaultRule rule) {
  std::lock_guard lock(mu_);
  return faults_.add(std::move(rule));
}

void KubeDouble::removeFault(uint64_t id) {
  std::lock_guard lock(mu_);
  faults_.remove(id);
}

void KubeDouble::clearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

uint64_t KubeDouble::faultHits(uint64_t id) const {
  std::lock_guard lock(mu_);
  return faults_.hits(id);
}

uint64_t KubeDouble::requestCount(const std::string& verb, const std::string& resource) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find({verb, resource});
  return it == counters_.end() ? 0 : it->second;
}

uint64_t KubeDouble::requestCount() const {
  std::lock_guard lock(mu_);
  return total_requests_;
}

void KubeDouble::resetCounters() {
  std::lock_guard lock(mu_);
  counters_.clear();
  total_requests_ = 0;
}

std::vector<KubeWriteRecord> KubeDouble::writeLog() const {
  std::lock_guard lock(mu_);
  return write_log_;
}

void KubeDouble::clearWriteLog() {
  std::lock_guard lock(mu_);
  write_log_.clear();
}

void KubeDouble::logWriteLocked(const std::string& verb, const ResourceType& type,
                                const std::string& subresource, const std::string& ns,
                                const std::string& name, const RequestContext& ctx, bool changed) {
  if (ctx.internal) {
    return;
  }
  KubeWriteRecord rec;
  rec.time = clock_->now();
  rec.verb = verb;
  rec.group = type.group;
  rec.resource = subresource.empty() ? type.plural : absl::StrCat(type.plural, "/", subresource);
  rec.namespace_name = ns;
  rec.name = name;
  rec.field_manager = ctx.field_manager;
  rec.user = ctx.user;
  rec.changed = changed;
  write_log_.push_back(std::move(rec));
}

}  // namespace secretsync::test
