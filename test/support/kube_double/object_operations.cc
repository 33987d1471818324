// KubeDouble: dispatch of resource requests and the create/update/patch/apply/delete operations.

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pkg/common/json_fields.h"
#include "pkg/common/yaml_json.h"
#include "test/support/kube_double/api_status.h"
#include "test/support/kube_double/kube_double.h"
#include "test/support/kube_double/kube_double_internal.h"
#include "test/support/kube_double/list_options.h"
#include "test/support/kube_double/object_validation.h"
#include "test/support/kube_double/selectors.h"

namespace secretsync::test {

using kube::ApiError;
using kube::ResourceBehavior;
using kube::ResourceType;
using kube::StoredObject;

namespace {

constexpr char kNameAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";

// The object without what changes on every write, to decide whether a write changed anything.
nlohmann::json comparable(const nlohmann::json& object) {
  nlohmann::json out = object;
  if (out.contains("metadata") && out["metadata"].is_object()) {
    out["metadata"].erase("resourceVersion");
    out["metadata"].erase("managedFields");
  }
  return out;
}

// What metadata.generation counts: everything but metadata (and status, when it is a
// subresource).
nlohmann::json specPart(const nlohmann::json& object, bool has_status) {
  nlohmann::json out = object;
  out.erase("metadata");
  if (has_status) {
    out.erase("status");
  }
  return out;
}

std::vector<std::string> stringList(const nlohmann::json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& e : v) {
      if (e.is_string()) {
        out.push_back(e.get<std::string>());
      }
    }
  }
  return out;
}

std::optional<nlohmann::json> parseJsonBody(const std::string& body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    return std::nullopt;
  }
  return parsed;
}

std::string mediaType(const HttpServerRequest& request) {
  std::string ct = request.header("content-type").value_or("");
  ct = ct.substr(0, ct.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(ct));
}

// An object reply at the requested version, or a Status as it is.
HttpServerResponse toResponse(const ResourceType& type, const std::string& version, int code,
                              const nlohmann::json& body) {
  if (body.value("kind", "") == "Status") {
    return kube::jsonResponse(code, body);
  }
  nlohmann::json out = body;
  out["apiVersion"] = type.apiVersion(version);
  out["kind"] = type.kind;
  return kube::jsonResponse(code, out);
}

}  // namespace

const ResourceType* KubeDouble::typeForStorageKeyLocked(const std::string& storage_key) const {
  for (const auto& t : registry_.types()) {
    if (t.storageKey() == storage_key) {
      return &t;
    }
  }
  return nullptr;
}

HttpServerResponse KubeDouble::serveResource(const HttpServerRequest& request,
                                             RequestContext& ctx) {
  {
    std::lock_guard lock(mu_);
    if (!kube::parseResourcePath(registry_, request.path, &ctx.path)) {
      return kube::pageNotFound();
    }
    ctx.type = *ctx.path.type;
    ctx.path.type = &ctx.type;
  }
  const ResourceType& type = ctx.type;
  const kube::ResourcePath& rp = ctx.path;
  if (!rp.subresource.empty() && !(rp.subresource == "status" && type.has_status) &&
      !(rp.subresource == "token" && type.plural == "serviceaccounts")) {
    return kube::pageNotFound();
  }
  const std::string resource =
      rp.subresource.empty() ? type.plural : absl::StrCat(type.plural, "/", rp.subresource);
  auto count = [&](const std::string& verb) {
    std::lock_guard lock(mu_);
    ++counters_[{verb, resource}];
  };
  auto respond = [&](const OpResult& r) {
    if (r.error.has_value()) {
      return r.error->toResponse();
    }
    return toResponse(type, rp.version, r.code, r.body);
  };
  const std::string& method = request.method;
  const bool collection = rp.name.empty();

  if (method == "GET") {
    if (collection) {
      count(kube::queryBool(request, "watch") ? "watch" : "list");
      return listOrWatch(request, ctx);
    }
    count("get");
    std::lock_guard lock(mu_);
    StoredObject* stored = store_.find(type.storageKey(), rp.namespace_name, rp.name);
    if (stored == nullptr) {
      return kube::notFound(type.plural, type.group, rp.name).toResponse();
    }
    return toResponse(type, rp.version, 200, stored->object);
  }
  if (method == "POST") {
    if (rp.subresource == "token") {
      count("create");
      return tokenRequestEndpoint(request, ctx);
    }
    if (!collection || rp.all_namespaces || !rp.subresource.empty()) {
      return kube::methodNotAllowed(
                 "the server does not allow this method on the requested resource")
          .toResponse();
    }
    count("create");
    auto body = parseJsonBody(request.body);
    if (!body.has_value() || !body->is_object()) {
      return kube::badRequest(absl::StrCat("the object provided is unrecognized (must be of type ",
                                           type.kind, ")"))
          .toResponse();
    }
    std::lock_guard lock(mu_);
    return respond(createLocked(type, rp.namespace_name, std::move(*body), ctx, false));
  }
  if (method == "PUT" || method == "PATCH") {
    if (collection || rp.subresource == "token") {
      return kube::methodNotAllowed(
                 "the server does not allow this method on the requested resource")
          .toResponse();
    }
    if (method == "PUT") {
      count("update");
      auto body = parseJsonBody(request.body);
      if (!body.has_value() || !body->is_object()) {
        return kube::badRequest(
                   absl::StrCat("the object provided is unrecognized (must be of type ", type.kind,
                                ")"))
            .toResponse();
      }
      std::lock_guard lock(mu_);
      return respond(
          updateLocked(type, rp.namespace_name, rp.name, std::move(*body), ctx, rp.subresource));
    }
    count("patch");
    std::lock_guard lock(mu_);
    return respond(patchLocked(type, rp.namespace_name, rp.name, request, ctx, rp.subresource));
  }
  if (method == "DELETE") {
    if (!rp.subresource.empty() || rp.all_namespaces) {
      return kube::methodNotAllowed(
                 "the server does not allow this method on the requested resource")
          .toResponse();
    }
    nlohmann::json options = nlohmann::json::object();
    if (!request.body.empty()) {
      auto body = parseJsonBody(request.body);
      if (!body.has_value() || !body->is_object()) {
        return kube::badRequest("the body of the request was not a valid DeleteOptions")
            .toResponse();
      }
      options = std::move(*body);
    }
    std::string propagation = request.queryParam("propagationPolicy")
                                  .value_or(options.value("propagationPolicy", "Background"));
    if (kube::queryBool(request, "orphanDependents") || options.value("orphanDependents", false)) {
      propagation = "Orphan";
    }
    if (collection) {
      count("deletecollection");
      auto selector = kube::LabelSelector::parse(request.queryParam("labelSelector").value_or(""));
      if (!selector.ok()) {
        return kube::badRequest(std::string(selector.status().message())).toResponse();
      }
      std::lock_guard lock(mu_);
      std::vector<std::string> names;
      for (const auto& [key, stored] : store_.list(type.storageKey(), rp.namespace_name)) {
        if (selector->matches(stored->object["metadata"].value("labels", nlohmann::json()))) {
          names.push_back(key.second);
        }
      }
      for (const auto& n : names) {
        deleteLocked(type, rp.namespace_name, n, options, propagation, ctx);
      }
      return kube::jsonResponse(200, {{"kind", "Status"},
                                      {"apiVersion", "v1"},
                                      {"metadata", nlohmann::json::object()},
                                      {"status", "Success"}});
    }
    count("delete");
    std::lock_guard lock(mu_);
    return respond(deleteLocked(type, rp.namespace_name, rp.name, options, propagation, ctx));
  }
  return kube::methodNotAllowed("the server does not allow this method on the requested resource")
      .toResponse();
}

KubeDouble::OpResult KubeDouble::createLocked(const ResourceType& type, const std::string& ns,
                                              nlohmann::json object, const RequestContext& ctx,
                                              bool keep_status,
                                              const kube::ManagedFields* managed) {
  OpResult out;
  if (!object.contains("metadata") || !object["metadata"].is_object()) {
    object["metadata"] = nlohmann::json::object();
  }
  nlohmann::json& meta = object["metadata"];
  if (type.namespaced) {
    std::string body_ns = meta.value("namespace", "");
    if (!body_ns.empty() && body_ns != ns) {
      out.error = kube::badRequest(
          "the namespace of the provided object does not match the namespace sent on the "
          "request");
      return out;
    }
    meta["namespace"] = ns;
    const ResourceType* ns_type = registry_.find("", "v1", "namespaces");
    if (store_.find(ns_type->storageKey(), "", ns) == nullptr) {
      out.error = kube::notFound("namespaces", "", ns);
      return out;
    }
  } else {
    meta.erase("namespace");
  }
  object["apiVersion"] = type.apiVersion(storageVersion(type));
  object["kind"] = type.kind;
  std::string name = meta.value("name", "");
  if (name.empty() && meta.contains("generateName") && meta["generateName"].is_string() &&
      !meta["generateName"].get<std::string>().empty()) {
    std::string prefix = meta["generateName"].get<std::string>();
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string candidate = prefix;
      for (int i = 0; i < 5; ++i) {
        uint64_t n =
            (uid_counter_ + 1) * 2654435761u + static_cast<uint64_t>(attempt * 7 + i) * 40503u;
        candidate.push_back(kNameAlphabet[(n >> (i * 3)) % (sizeof(kNameAlphabet) - 1)]);
      }
      ++uid_counter_;
      if (store_.find(type.storageKey(), ns, candidate) == nullptr) {
        name = candidate;
        break;
      }
    }
    meta["name"] = name;
  }
  for (const char* field :
       {"uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
        "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink"}) {
    meta.erase(field);
  }
  if (type.has_status && !keep_status) {
    object.erase("status");  // silently dropped, as with a status subresource
  }
  std::vector<kube::StatusCause> causes;
  if (type.behavior == ResourceBehavior::kSecret) {
    causes = kube::normalizeAndValidateSecret(object, nullptr);
  } else if (type.behavior == ResourceBehavior::kEvent) {
    causes = kube::validateEvent(object, type.group);
  } else if (type.behavior == ResourceBehavior::kNamespace) {
    object["spec"] = {{"finalizers", {"kubernetes"}}};
    object["status"] = {{"phase", "Active"}};
  }
  std::vector<kube::StatusCause> meta_causes = kube::validateObjectMeta(
      object, type.namespaced, type.behavior == ResourceBehavior::kNamespace);
  causes.insert(causes.end(), meta_causes.begin(), meta_causes.end());
  if (!causes.empty()) {
    out.error = kube::invalid(type.kind, type.group, name, std::move(causes));
    return out;
  }
  if (store_.find(type.storageKey(), ns, name) != nullptr) {
    out.error = kube::alreadyExists(type.plural, type.group, name);
    return out;
  }
  meta["uid"] = newUid();
  meta["creationTimestamp"] = nowTime();
  if (type.is_custom) {
    meta["generation"] = 1;
  }
  StoredObject stored;
  if (managed != nullptr) {
    stored.managed = *managed;
  } else {
    stored.managed.recordUpdate(ctx.field_manager, type.apiVersion(storageVersion(type)), nowTime(),
                                "", nullptr, object);
  }
  if (ctx.dry_run) {
    out.code = 201;
    out.body = object;
    return out;
  }
  meta["resourceVersion"] = std::to_string(store_.nextRv());
  if (!stored.managed.empty()) {
    meta["managedFields"] = stored.managed.render();
  }
  stored.object = object;
  store_.put(type.storageKey(), ns, name, std::move(stored), "ADDED", nullptr);
  changed_.notify_all();
  logWriteLocked(managed != nullptr ? "apply" : "create", type, "", ns, name, ctx, true);
  out.code = 201;
  out.body = std::move(object);
  return out;
}

KubeDouble::OpResult KubeDouble::updateLocked(const ResourceType& type, const std::string& ns,
                                              const std::string& name, nlohmann::json object,
                                              const RequestContext& ctx,
                                              const std::string& subresource) {
  OpResult out;
  std::string body_name = common::metadataString(object, "name");
  if (!body_name.empty() && body_name != name) {
    out.error = kube::badRequest(absl::StrCat("the name of the object (", body_name,
                                              ") does not match the name on the URL (", name, ")"));
    return out;
  }
  std::string body_ns = common::metadataString(object, "namespace");
  if (type.namespaced && !body_ns.empty() && body_ns != ns) {
    out.error = kube::badRequest(
        "the namespace of the provided object does not match the namespace sent on the request");
    return out;
  }
  StoredObject* stored = store_.find(type.storageKey(), ns, name);
  if (stored == nullptr) {
    if (type.plural == "leases" && subresource.empty()) {
      // Leases allow create-on-update (client-go's leader election relies on create, though).
      object["metadata"]["name"] = name;
      return createLocked(type, ns, std::move(object), ctx, false);
    }
    out.error = kube::notFound(type.plural, type.group, name);
    return out;
  }
  std::string rv = common::metadataString(object, "resourceVersion");
  if (rv.empty()) {
    if (type.is_custom) {
      out.error = kube::invalid(type.kind, type.group, name,
                                {kube::fieldCause("FieldValueInvalid", "metadata.resourceVersion",
                                                  "0x0: must be specified for an update")});
      return out;
    }
  } else if (rv != common::metadataString(stored->object, "resourceVersion")) {
    out.error = kube::staleConflict(type.plural, type.group, name);
    return out;
  }
  nlohmann::json candidate;
  if (subresource == "status") {
    candidate = stored->object;
    if (object.contains("status")) {
      candidate["status"] = object["status"];
    } else {
      candidate.erase("status");
    }
  } else {
    candidate = std::move(object);
    if (type.has_status) {
      if (stored->object.contains("status")) {
        candidate["status"] = stored->object["status"];
      } else {
        candidate.erase("status");
      }
    }
  }
  return commitUpdateLocked(type, ns, name, stored, std::move(candidate), ctx, subresource,
                            "update");
}

KubeDouble::OpResult KubeDouble::commitUpdateLocked(
    const ResourceType& type, const std::string& ns, const std::string& name, StoredObject* stored,
    nlohmann::json candidate, const RequestContext& ctx, const std::string& subresource,
    const std::string& verb, const kube::ManagedFields* managed) {
  OpResult out;
  const nlohmann::json old = stored->object;
  const nlohmann::json& old_meta = old["metadata"];
  if (!candidate.is_object()) {
    out.error = kube::badRequest("the object provided is not a JSON object");
    return out;
  }
  if (!candidate.contains("metadata") || !candidate["metadata"].is_object()) {
    candidate["metadata"] = nlohmann::json::object();
  }
  nlohmann::json& meta = candidate["metadata"];
  candidate["apiVersion"] = type.apiVersion(storageVersion(type));
  candidate["kind"] = type.kind;
  meta["name"] = name;
  if (type.namespaced) {
    meta["namespace"] = ns;
  }
  for (const char* field : {"uid", "creationTimestamp", "deletionTimestamp",
                            "deletionGracePeriodSeconds", "generation", "resourceVersion"}) {
    if (old_meta.contains(field)) {
      meta[field] = old_meta[field];
    } else {
      meta.erase(field);
    }
  }
  meta.erase("managedFields");
  meta.erase("selfLink");
  if (old_meta.contains("deletionTimestamp")) {
    std::vector<std::string> before = stringList(old_meta.value("finalizers", nlohmann::json()));
    std::vector<std::string> added;
    for (const auto& f : stringList(meta.value("finalizers", nlohmann::json()))) {
      if (std::find(before.begin(), before.end(), f) == before.end()) {
        added.push_back(absl::StrCat("\"", f, "\""));
      }
    }
    if (!added.empty()) {
      out.error = kube::invalid(
          type.kind, type.group, name,
          {kube::fieldCause("FieldValueForbidden", "metadata.finalizers",
                            absl::StrCat("no new finalizers can be added if the object is being "
                                         "deleted, found new finalizers []string{",
                                         absl::StrJoin(added, ", "), "}"))});
      return out;
    }
  }
  std::vector<kube::StatusCause> causes;
  if (type.behavior == ResourceBehavior::kSecret) {
    causes = kube::normalizeAndValidateSecret(candidate, &old);
  } else if (type.behavior == ResourceBehavior::kEvent) {
    causes = kube::validateEvent(candidate, type.group);
  } else if (type.behavior == ResourceBehavior::kNamespace && subresource.empty()) {
    candidate["status"] = old.value("status", nlohmann::json::object());
    if (!candidate.contains("spec")) {
      candidate["spec"] = old.value("spec", nlohmann::json::object());
    }
  }
  std::vector<kube::StatusCause> meta_causes = kube::validateObjectMeta(
      candidate, type.namespaced, type.behavior == ResourceBehavior::kNamespace);
  causes.insert(causes.end(), meta_causes.begin(), meta_causes.end());
  if (!causes.empty()) {
    out.error = kube::invalid(type.kind, type.group, name, std::move(causes));
    return out;
  }
  if (type.is_custom && specPart(candidate, type.has_status) != specPart(old, type.has_status)) {
    meta["generation"] = old_meta.value("generation", 1) + 1;
  }
  kube::ManagedFields new_managed = stored->managed;
  if (managed != nullptr) {
    new_managed = *managed;
  } else {
    new_managed.recordUpdate(
        ctx.field_manager,
        type.apiVersion(ctx.path.version.empty() ? storageVersion(type) : ctx.path.version),
        nowTime(), subresource, old, candidate);
  }
  bool changed =
      comparable(candidate) != comparable(old) || new_managed.render() != stored->managed.render();
  if (ctx.dry_run) {
    out.body = candidate;
    return out;
  }
  if (!changed) {
    logWriteLocked(verb, type, subresource, ns, name, ctx, false);
    out.body = old;
    return out;
  }
  stored->managed = new_managed;
  if (!new_managed.empty()) {
    meta["managedFields"] = new_managed.render();
  }
  if (meta.contains("deletionTimestamp") &&
      stringList(meta.value("finalizers", nlohmann::json())).empty()) {
    // The last finalizer went away: the deletion completes now.
    stored->object = candidate;
    removeLocked(type, ns, name, false);
    logWriteLocked(verb, type, subresource, ns, name, ctx, true);
    out.body = candidate;
    return out;
  }
  storeModifiedLocked(type.storageKey(), ns, name, stored, candidate);
  logWriteLocked(verb, type, subresource, ns, name, ctx, true);
  out.body = store_.find(type.storageKey(), ns, name)->object;
  return out;
}

void KubeDouble::storeModifiedLocked(const std::string& storage_key, const std::string& ns,
                                     const std::string& name, StoredObject* stored,
                                     nlohmann::json candidate) {
  candidate["metadata"]["resourceVersion"] = std::to_string(store_.nextRv());
  nlohmann::json previous = stored->object;
  StoredObject next;
  next.managed = stored->managed;
  next.object = std::move(candidate);
  store_.put(storage_key, ns, name, std::move(next), "MODIFIED", std::move(previous));
  changed_.notify_all();
}

KubeDouble::OpResult KubeDouble::patchLocked(const ResourceType& type, const std::string& ns,
                                             const std::string& name,
                                             const HttpServerRequest& request,
                                             const RequestContext& ctx,
                                             const std::string& subresource) {
  OpResult out;
  const std::string ct = mediaType(request);
  const bool is_apply = ct == "application/apply-patch+yaml";
  std::optional<std::string> force = request.queryParam("force");
  if (force.has_value() && !is_apply) {
    out.error = kube::invalid("PatchOptions.meta.k8s.io", "", "",
                              {kube::fieldCause("FieldValueForbidden", "force",
                                                "may not be specified for non-apply patch")});
    return out;
  }
  if (is_apply) {
    if (request.queryParam("fieldManager").value_or("").empty()) {
      out.error = kube::invalid(
          "PatchOptions.meta.k8s.io", "", "",
          {kube::fieldCause("FieldValueRequired", "fieldManager", "is required for apply patch")});
      return out;
    }
    std::optional<nlohmann::json> body = parseJsonBody(request.body);
    if (!body.has_value()) {
      auto yaml = common::yamlToJsonSingle(request.body);
      if (yaml.ok()) {
        body = std::move(*yaml);
      }
    }
    if (!body.has_value() || !body->is_object()) {
      out.error = kube::badRequest("error decoding YAML: the apply patch is not an object");
      return out;
    }
    return applyLocked(type, ns, name, std::move(*body), ctx, subresource,
                       kube::queryBool(request, "force"));
  }
  if (ct != "application/merge-patch+json" && ct != "application/json-patch+json" &&
      ct != "application/strategic-merge-patch+json") {
    out.error = kube::unsupportedMediaType(ct);
    return out;
  }
  if (ct == "application/strategic-merge-patch+json" && type.is_custom) {
    out.error = kube::unsupportedMediaType(ct);
    return out;
  }
  StoredObject* stored = store_.find(type.storageKey(), ns, name);
  if (stored == nullptr) {
    out.error = kube::notFound(type.plural, type.group, name);
    return out;
  }
  std::optional<nlohmann::json> patch = parseJsonBody(request.body);
  if (!patch.has_value()) {
    out.error = kube::badRequest("error decoding patch: invalid JSON");
    return out;
  }
  const nlohmann::json& old = stored->object;
  nlohmann::json candidate = old;
  if (ct == "application/json-patch+json") {
    if (!patch->is_array()) {
      out.error =
          kube::badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
      return out;
    }
    try {
      candidate = old.patch(*patch);
    } catch (const nlohmann::json::exception& e) {
      out.error = ApiError{.code = 422, .reason = "Invalid", .message = e.what()};
      return out;
    }
  } else {
    if (!patch->is_object()) {
      out.error = kube::badRequest("error decoding patch: not a JSON object");
      return out;
    }
    // Strategic merge on built-ins is modelled as a merge patch: the maps of Secrets and
    // ConfigMaps merge the same way.
    candidate.merge_patch(*patch);
  }
  std::string rv = common::metadataString(candidate, "resourceVersion");
  if (!rv.empty() && rv != common::metadataString(old, "resourceVersion")) {
    out.error = kube::staleConflict(type.plural, type.group, name);
    return out;
  }
  if (subresource == "status") {
    nlohmann::json only_status = old;
    if (candidate.contains("status")) {
      only_status["status"] = candidate["status"];
    } else {
      only_status.erase("status");
    }
    candidate = std::move(only_status);
  } else if (type.has_status) {
    if (old.contains("status")) {
      candidate["status"] = old["status"];
    } else {
      candidate.erase("status");
    }
  }
  return commitUpdateLocked(type, ns, name, stored, std::move(candidate), ctx, subresource,
                            "patch");
}

KubeDouble::OpResult KubeDouble::applyLocked(const ResourceType& type, const std::string& ns,
                                             const std::string& name, nlohmann::json applied,
                                             const RequestContext& ctx,
                                             const std::string& subresource, bool force) {
  OpResult out;
  if (applied.value("apiVersion", "").empty() || applied.value("kind", "").empty()) {
    out.error = kube::badRequest("apiVersion and kind must be set in an apply patch");
    return out;
  }
  std::string body_name = common::metadataString(applied, "name");
  if (!body_name.empty() && body_name != name) {
    out.error = kube::badRequest(absl::StrCat("the name of the object (", body_name,
                                              ") does not match the name on the URL (", name, ")"));
    return out;
  }
  StoredObject* stored = store_.find(type.storageKey(), ns, name);
  if (stored == nullptr && subresource == "status") {
    out.error = kube::notFound(type.plural, type.group, name);
    return out;
  }
  // Only what this endpoint may change takes part in ownership.
  nlohmann::json fields = nlohmann::json::object();
  if (subresource == "status") {
    if (applied.contains("status")) {
      fields["status"] = applied["status"];
    }
  } else {
    fields = applied;
    fields.erase("apiVersion");
    fields.erase("kind");
    if (type.has_status) {
      fields.erase("status");
    }
    nlohmann::json meta = nlohmann::json::object();
    if (applied.contains("metadata") && applied["metadata"].is_object()) {
      for (const char* owned : {"labels", "annotations", "ownerReferences", "finalizers"}) {
        if (applied["metadata"].contains(owned)) {
          meta[owned] = applied["metadata"][owned];
        }
      }
    }
    fields["metadata"] = meta;
  }
  kube::ManagedFields managed = stored != nullptr ? stored->managed : kube::ManagedFields();
  std::string api_version = applied.value("apiVersion", "");
  auto outcome =
      managed.apply(ctx.field_manager, api_version, nowTime(), subresource,
                    stored != nullptr ? stored->object : nlohmann::json(), fields, force);
  if (!outcome.conflicts.empty()) {
    std::vector<std::string> texts;
    for (const auto& c : outcome.conflicts) {
      texts.push_back(absl::StrCat(c.message, ": ", c.field));
    }
    size_t n = outcome.conflicts.size();
    out.error = ApiError{.code = 409,
                         .reason = "Conflict",
                         .message = absl::StrCat(
                             "Apply failed with ", n,
                             n == 1 ? " conflict: " : " conflicts: ", absl::StrJoin(texts, "\n")),
                         .name = name,
                         .group = type.group,
                         .kind = type.plural,
                         .causes = outcome.conflicts};
    return out;
  }
  nlohmann::json candidate = std::move(outcome.object);
  if (stored == nullptr) {
    candidate["apiVersion"] = api_version;
    candidate["kind"] = type.kind;
    candidate["metadata"]["name"] = name;
    return createLocked(type, ns, std::move(candidate), ctx, false, &managed);
  }
  std::string rv = common::metadataString(applied, "resourceVersion");
  if (!rv.empty() && rv != common::metadataString(stored->object, "resourceVersion")) {
    out.error = kube::staleConflict(type.plural, type.group, name);
    return out;
  }
  return commitUpdateLocked(type, ns, name, stored, std::move(candidate), ctx, subresource, "apply",
                            &managed);
}

KubeDouble::OpResult KubeDouble::deleteLocked(const ResourceType& type, const std::string& ns,
                                              const std::string& name,
                                              const nlohmann::json& options,
                                              const std::string& propagation,
                                              const RequestContext& ctx) {
  OpResult out;
  StoredObject* stored = store_.find(type.storageKey(), ns, name);
  if (stored == nullptr) {
    out.error = kube::notFound(type.plural, type.group, name);
    return out;
  }
  const nlohmann::json& meta = stored->object["metadata"];
  const std::string uid = meta.value("uid", "");
  if (options.contains("preconditions") && options["preconditions"].is_object()) {
    const nlohmann::json& pre = options["preconditions"];
    std::string want_uid = pre.value("uid", "");
    std::string want_rv = pre.value("resourceVersion", "");
    if (!want_uid.empty() && want_uid != uid) {
      out.error =
          kube::conflict(type.plural, type.group, name,
                         absl::StrCat("Precondition failed: UID in precondition: ", want_uid,
                                      ", UID in object meta: ", uid));
      return out;
    }
    if (!want_rv.empty() && want_rv != meta.value("resourceVersion", "")) {
      out.error = kube::conflict(
          type.plural, type.group, name,
          absl::StrCat("Precondition failed: ResourceVersion in precondition: ", want_rv,
                       ", ResourceVersion in object meta: ", meta.value("resourceVersion", "")));
      return out;
    }
  }
  if (ctx.dry_run) {
    out.body = kube::successStatus(name, type.group, type.plural, uid);
    return out;
  }
  if (!stringList(meta.value("finalizers", nlohmann::json())).empty()) {
    if (meta.contains("deletionTimestamp")) {
      out.body = stored->object;
      return out;
    }
    nlohmann::json candidate = stored->object;
    candidate["metadata"]["deletionTimestamp"] = nowTime();
    candidate["metadata"]["deletionGracePeriodSeconds"] = 0;
    if (candidate["metadata"].contains("generation")) {
      candidate["metadata"]["generation"] = candidate["metadata"].value("generation", 1) + 1;
    }
    storeModifiedLocked(type.storageKey(), ns, name, stored, std::move(candidate));
    logWriteLocked("delete", type, "", ns, name, ctx, true);
    out.body = store_.find(type.storageKey(), ns, name)->object;
    return out;
  }
  removeLocked(type, ns, name, propagation == "Orphan");
  logWriteLocked("delete", type, "", ns, name, ctx, true);
  out.body = kube::successStatus(name, type.group, type.plural, uid);
  return out;
}

void KubeDouble::removeLocked(const ResourceType& type, const std::string& ns,
                              const std::string& name, bool orphan) {
  StoredObject* stored = store_.find(type.storageKey(), ns, name);
  if (stored == nullptr) {
    return;
  }
  nlohmann::json last = stored->object;
  last["metadata"]["resourceVersion"] = std::to_string(store_.nextRv());
  const std::string uid = last["metadata"].value("uid", "");
  store_.erase(type.storageKey(), ns, name, std::move(last));
  if (type.behavior == ResourceBehavior::kNamespace) {
    // Namespace deletion takes everything in it along (synchronously, finalizers ignored).
    for (const auto& [storage_key, key] : store_.allKeys()) {
      const ResourceType* t = typeForStorageKeyLocked(storage_key);
      if (t != nullptr && t->namespaced && key.first == name) {
        removeLocked(*t, key.first, key.second, false);
      }
    }
  }
  if (orphan) {
    for (const auto& [storage_key, key] : store_.allKeys()) {
      StoredObject* dep = store_.find(storage_key, key.first, key.second);
      const nlohmann::json refs =
          dep->object["metadata"].value("ownerReferences", nlohmann::json::array());
      if (!refs.is_array()) {
        continue;
      }
      nlohmann::json kept = nlohmann::json::array();
      for (const auto& r : refs) {
        if (!(r.is_object() && r.value("uid", "") == uid)) {
          kept.push_back(r);
        }
      }
      if (kept.size() != refs.size()) {
        nlohmann::json candidate = dep->object;
        if (kept.empty()) {
          candidate["metadata"].erase("ownerReferences");
        } else {
          candidate["metadata"]["ownerReferences"] = kept;
        }
        storeModifiedLocked(storage_key, key.first, key.second, dep, std::move(candidate));
      }
    }
  } else if (!uid.empty()) {
    collectDependentsLocked(uid);
  }
  changed_.notify_all();
}

bool KubeDouble::uidExistsLocked(const std::string& uid) const {
  auto* self = const_cast<KubeDouble*>(this);
  for (const auto& [storage_key, key] : store_.allKeys()) {
    StoredObject* o = self->store_.find(storage_key, key.first, key.second);
    if (o != nullptr && o->object["metadata"].value("uid", "") == uid) {
      return true;
    }
  }
  return false;
}

void KubeDouble::collectDependentsLocked(const std::string& owner_uid) {
  // The garbage collector, synchronously: a dependent whose owners are all gone is deleted
  // (background propagation); one with a live owner left only loses the dead reference.
  for (const auto& [storage_key, key] : store_.allKeys()) {
    StoredObject* dep = store_.find(storage_key, key.first, key.second);
    if (dep == nullptr) {
      continue;  // collected by an earlier step of this sweep
    }
    const nlohmann::json refs =
        dep->object["metadata"].value("ownerReferences", nlohmann::json::array());
    if (!refs.is_array()) {
      continue;
    }
    bool owned = false;
    bool other_live = false;
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& r : refs) {
      std::string uid = r.is_object() ? r.value("uid", "") : "";
      if (uid == owner_uid) {
        owned = true;
        continue;
      }
      kept.push_back(r);
      other_live = other_live || uidExistsLocked(uid);
    }
    if (!owned) {
      continue;
    }
    const ResourceType* t = typeForStorageKeyLocked(storage_key);
    if (t == nullptr) {
      continue;
    }
    if (other_live) {
      nlohmann::json candidate = dep->object;
      candidate["metadata"]["ownerReferences"] = kept;
      storeModifiedLocked(storage_key, key.first, key.second, dep, std::move(candidate));
      continue;
    }
    RequestContext gc;
    gc.user = "system:serviceaccount:kube-system:generic-garbage-collector";
    gc.field_manager = "kube-controller-manager";
    gc.internal = true;
    ResourceType type_copy = *t;
    deleteLocked(type_copy, key.first, key.second, nlohmann::json::object(), "Background", gc);
  }
}

HttpServerResponse KubeDouble::listOrWatch(const HttpServerRequest& request, RequestContext& ctx) {
  if (kube::queryBool(request, "watch")) {
    return watch(request, ctx);
  }
  const ResourceType& type = ctx.type;
  const kube::ResourcePath& rp = ctx.path;
  auto labels = kube::LabelSelector::parse(request.queryParam("labelSelector").value_or(""));
  if (!labels.ok()) {
    return kube::badRequest(std::string(labels.status().message())).toResponse();
  }
  auto fields = kube::FieldSelector::parse(request.queryParam("fieldSelector").value_or(""),
                                           kube::selectableFields(type));
  if (!fields.ok()) {
    return kube::badRequest(std::string(fields.status().message())).toResponse();
  }
  int64_t limit = 0;
  if (auto l = request.queryParam("limit"); l.has_value() && !l->empty()) {
    if (!absl::SimpleAtoi(*l, &limit) || limit < 0) {
      return kube::badRequest(absl::StrCat("invalid limit: ", *l)).toResponse();
    }
  }
  std::lock_guard lock(mu_);
  uint64_t list_rv = store_.currentRv();
  std::string start_after_ns;
  std::string start_after_name;
  bool have_start = false;
  if (auto token = request.queryParam("continue"); token.has_value() && !token->empty()) {
    auto decoded = kube::decodeContinueToken(*token);
    if (!decoded.has_value()) {
      return kube::badRequest("continue key is not valid: incorrect encoded start resourceVersion")
          .toResponse();
    }
    if (decoded->rv < store_.compactedRv()) {
      return kube::expired(
                 "The provided continue parameter is too old to display a consistent list "
                 "result. You can start a new list without the continue parameter, or use the "
                 "continue token in this response to retrieve the remainder of the results. "
                 "Continuing with the provided token results in an inconsistent list - objects "
                 "that were created, modified, or deleted between the time the first chunk was "
                 "returned and now may show up in the list.")
          .toResponse();
    }
    list_rv = decoded->rv;
    start_after_ns = decoded->ns;
    start_after_name = decoded->name;
    have_start = true;
  } else if (auto rv = request.queryParam("resourceVersion");
             rv.has_value() && !rv->empty() && *rv != "0") {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(*rv, &n)) {
      return kube::badRequest(absl::StrCat("invalid resource version: ", *rv)).toResponse();
    }
    if (n > store_.currentRv()) {
      ApiError err{.code = 504,
                   .reason = "Timeout",
                   .message = absl::StrCat("Too large resource version: ", n,
                                           ", current: ", store_.currentRv()),
                   .causes = {{"ResourceVersionTooLarge", "Too large resource version", ""}}};
      err.retry_after_seconds = 1;
      return err.toResponse();
    }
    bool exact = request.queryParam("resourceVersionMatch").value_or("") == "Exact" ||
                 (limit > 0 && request.queryParam("resourceVersionMatch").value_or("").empty());
    if (exact && n < store_.compactedRv()) {
      return kube::expired(
                 absl::StrCat("too old resource version: ", n, " (", store_.compactedRv() + 1, ")"))
          .toResponse();
    }
  }
  nlohmann::json items = nlohmann::json::array();
  std::string last_ns;
  std::string last_name;
  int64_t remaining = 0;
  for (const auto& [key, stored] : store_.list(type.storageKey(), rp.namespace_name)) {
    if (have_start && key <= std::make_pair(start_after_ns, start_after_name)) {
      continue;
    }
    const nlohmann::json& obj = stored->object;
    if (!labels->matches(obj["metadata"].value("labels", nlohmann::json())) ||
        !fields->matches(obj)) {
      continue;
    }
    if (limit > 0 && static_cast<int64_t>(items.size()) >= limit) {
      ++remaining;
      continue;
    }
    nlohmann::json item = presentLocked(type, rp.version, obj);
    if (!type.is_custom) {
      // Built-in list items come without kind and apiVersion.
      item.erase("kind");
      item.erase("apiVersion");
    }
    items.push_back(std::move(item));
    last_ns = key.first;
    last_name = key.second;
  }
  nlohmann::json meta = {{"resourceVersion", std::to_string(list_rv)}};
  if (remaining > 0) {
    meta["continue"] = kube::encodeContinueToken({list_rv, last_ns, last_name});
    meta["remainingItemCount"] = remaining;
  }
  return kube::jsonResponse(200, {{"kind", type.listKind()},
                                  {"apiVersion", type.apiVersion(rp.version)},
                                  {"metadata", meta},
                                  {"items", items}});
}

}  // namespace secretsync::test
