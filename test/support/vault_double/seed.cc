#include "test/support/vault_double/seed.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace secretsync::test {
namespace {

absl::Status bad(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("seed: ", where, ": ", what));
}

std::string str(const nlohmann::json& obj, const char* key, const std::string& def = "") {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : def;
}

bool boolean(const nlohmann::json& obj, const char* key, bool def) {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_boolean()) ? it->get<bool>() : def;
}

int64_t intOr(const nlohmann::json& obj, const char* key, int64_t def) {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_number_integer()) ? it->get<int64_t>() : def;
}

std::vector<std::string> strings(const nlohmann::json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end()) {
    return out;
  }
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
    return out;
  }
  if (it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) {
        out.push_back(v.get<std::string>());
      }
    }
  }
  return out;
}

std::vector<int64_t> ints(const nlohmann::json& obj, const char* key) {
  std::vector<int64_t> out;
  auto it = obj.find(key);
  if (it != obj.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_number_integer()) {
        out.push_back(v.get<int64_t>());
      }
    }
  }
  return out;
}

absl::StatusOr<std::chrono::seconds> duration(const nlohmann::json& obj, const char* key,
                                              const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return std::chrono::seconds(0);
  }
  auto d = vault::parseDuration(*it);
  if (!d.has_value()) {
    return bad(where, absl::StrCat("bad duration in \"", key, "\""));
  }
  return *d;
}

// Reads a role's token_ttl and token_max_ttl (both optional) into `ttl` and `max_ttl`.
absl::Status readTokenTtls(const nlohmann::json& role, const std::string& where,
                           std::chrono::seconds& ttl, std::chrono::seconds& max_ttl) {
  auto read_ttl = duration(role, "token_ttl", where);
  if (!read_ttl.ok()) {
    return read_ttl.status();
  }
  auto read_max_ttl = duration(role, "token_max_ttl", where);
  if (!read_max_ttl.ok()) {
    return read_max_ttl.status();
  }
  ttl = *read_ttl;
  max_ttl = *read_max_ttl;
  return absl::OkStatus();
}

std::vector<std::string> rolePolicies(const nlohmann::json& role) {
  std::vector<std::string> p = strings(role, "token_policies");
  for (auto& x : strings(role, "policies")) {
    p.push_back(std::move(x));
  }
  return p;
}

const nlohmann::json& list(const nlohmann::json& seed, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  auto it = seed.find(key);
  return (it != seed.end() && it->is_array()) ? *it : kEmpty;
}

}  // namespace

absl::Status applySeed(VaultDouble& vd, const nlohmann::json& seed) {
  if (!seed.is_object()) {
    return bad("document", "must be a JSON object");
  }
  if (auto s = seed.find("settings"); s != seed.end() && s->is_object()) {
    vault::WireSettings w = vd.wireSettings();
    w.mount_type_field = boolean(*s, "mount_type_field", w.mount_type_field);
    w.multierror = boolean(*s, "multierror", w.multierror);
    w.invalid_token_message = boolean(*s, "invalid_token_message", w.invalid_token_message);
    vd.setWireSettings(w);
  }
  for (const auto& ns : list(seed, "namespaces")) {
    if (ns.is_string()) {
      vd.createNamespace(ns.get<std::string>());
    }
  }
  for (const auto& m : list(seed, "mounts")) {
    std::string where = absl::StrCat("mount ", str(m, "path"));
    std::string type = str(m, "type", "kv");
    int version = 2;
    if (auto v = m.find("version"); v != m.end()) {
      if (v->is_number_integer()) {
        version = static_cast<int>(v->get<int64_t>());
      } else if (v->is_string()) {
        version = v->get<std::string>() == "1" ? 1 : 2;
      }
    }
    if (type == "kv-v1") {
      version = 1;
    } else if (type == "kv-v2") {
      version = 2;
    } else if (type != "kv") {
      return bad(where, absl::StrCat("unsupported type ", type));
    }
    absl::Status st = vd.mountKv(str(m, "path"), version, str(m, "namespace"));
    if (!st.ok()) {
      return bad(where, std::string(st.message()));
    }
  }
  for (const auto& c : list(seed, "kv_config")) {
    std::string where = absl::StrCat("kv_config ", str(c, "mount"));
    KvKeySettings s;
    s.max_versions = intOr(c, "max_versions", 0);
    s.cas_required = boolean(c, "cas_required", false);
    auto d = duration(c, "delete_version_after", where);
    if (!d.ok()) {
      return d.status();
    }
    s.delete_version_after = *d;
    absl::Status st = vd.setKvConfig(str(c, "mount"), s, str(c, "namespace"));
    if (!st.ok()) {
      return bad(where, std::string(st.message()));
    }
  }
  for (const auto& s : list(seed, "secrets")) {
    std::string mount = str(s, "mount", "secret");
    std::string path = str(s, "path");
    std::string ns = str(s, "namespace");
    std::string where = absl::StrCat("secret ", mount, "/", path);
    if (path.empty()) {
      return bad(where, "missing path");
    }
    if (s.contains("max_versions") || s.contains("cas_required") ||
        s.contains("delete_version_after")) {
      KvKeySettings k;
      k.max_versions = intOr(s, "max_versions", 0);
      k.cas_required = boolean(s, "cas_required", false);
      auto d = duration(s, "delete_version_after", where);
      if (!d.ok()) {
        return d.status();
      }
      k.delete_version_after = *d;
      absl::Status st = vd.setKeySettings(mount, path, k, ns);
      if (!st.ok()) {
        return bad(where, std::string(st.message()));
      }
    }
    std::vector<nlohmann::json> versions;
    if (auto v = s.find("versions"); v != s.end() && v->is_array()) {
      versions.assign(v->begin(), v->end());
    } else if (auto d = s.find("data"); d != s.end()) {
      versions.push_back(*d);
    }
    for (const auto& data : versions) {
      auto put = vd.putSecret(mount, path, data, ns);
      if (!put.ok()) {
        return bad(where, std::string(put.status().message()));
      }
    }
    if (auto cm = s.find("custom_metadata"); cm != s.end() && cm->is_object()) {
      std::map<std::string, std::string> custom;
      for (auto it = cm->begin(); it != cm->end(); ++it) {
        custom[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
      }
      absl::Status st = vd.setCustomMetadata(mount, path, custom, ns);
      if (!st.ok()) {
        return bad(where, std::string(st.message()));
      }
    }
    if (auto del = ints(s, "deleted_versions"); !del.empty()) {
      absl::Status st = vd.deleteVersions(mount, path, del, ns);
      if (!st.ok()) {
        return bad(where, std::string(st.message()));
      }
    }
    if (auto des = ints(s, "destroyed_versions"); !des.empty()) {
      absl::Status st = vd.destroyVersions(mount, path, des, ns);
      if (!st.ok()) {
        return bad(where, std::string(st.message()));
      }
    }
  }
  for (const auto& p : list(seed, "policies")) {
    std::string name = str(p, "name");
    std::string where = absl::StrCat("policy ", name);
    if (name.empty()) {
      return bad(where, "missing name");
    }
    if (p.contains("hcl")) {
      absl::Status st = vd.putPolicyHcl(name, str(p, "hcl"));
      if (!st.ok()) {
        return bad(where, std::string(st.message()));
      }
      continue;
    }
    std::vector<vault::PathRule> rules;
    for (const auto& r : list(p, "rules")) {
      vault::PathRule rule;
      rule.pattern = str(r, "path");
      for (const auto& c : strings(r, "capabilities")) {
        vault::Capability cap;
        if (!vault::parseCapability(c, &cap)) {
          return bad(where, absl::StrCat("unknown capability ", c));
        }
        rule.capabilities.insert(cap);
      }
      rules.push_back(std::move(rule));
    }
    vd.putPolicy(name, std::move(rules));
  }
  for (const auto& t : list(seed, "tokens")) {
    std::string where = absl::StrCat("token ", str(t, "id"));
    vault::TokenSpec spec;
    spec.id = str(t, "id");
    spec.policies = strings(t, "policies");
    auto ttl = duration(t, "ttl", where);
    auto max_ttl = duration(t, "max_ttl", where);
    if (!ttl.ok()) {
      return ttl.status();
    }
    if (!max_ttl.ok()) {
      return max_ttl.status();
    }
    spec.ttl = *ttl;
    spec.max_ttl = *max_ttl;
    spec.renewable = boolean(t, "renewable", true);
    spec.no_default_policy = boolean(t, "no_default_policy", false);
    spec.display_name = str(t, "display_name", "token");
    if (auto m = t.find("meta"); m != t.end() && m->is_object()) {
      for (auto it = m->begin(); it != m->end(); ++it) {
        if (it->is_string()) {
          spec.meta[it.key()] = it->get<std::string>();
        }
      }
    }
    vd.createTokenWithSpec(spec);
  }
  for (const auto& k : list(seed, "kubernetes")) {
    std::string mount = str(k, "mount", "kubernetes");
    vault::KubernetesAuthConfig config;
    config.jwt_hs256_key = str(k, "jwt_hs256_key");
    config.issuer = str(k, "issuer");
    vd.enableKubernetesAuth(mount, config);
    for (const auto& r : list(k, "roles")) {
      std::string where = absl::StrCat("kubernetes role ", mount, "/", str(r, "name"));
      vault::KubernetesRole role;
      role.name = str(r, "name");
      role.bound_service_account_names = strings(r, "bound_service_account_names");
      role.bound_service_account_namespaces = strings(r, "bound_service_account_namespaces");
      role.audience = str(r, "audience");
      role.policies = rolePolicies(r);
      if (absl::Status st = readTokenTtls(r, where, role.token_ttl, role.token_max_ttl); !st.ok()) {
        return st;
      }
      absl::Status st = vd.addKubernetesRole(mount, role);
      if (!st.ok()) {
        return bad(where, std::string(st.message()));
      }
    }
  }
  for (const auto& a : list(seed, "approle")) {
    std::string mount = str(a, "mount", "approle");
    for (const auto& r : list(a, "roles")) {
      std::string where = absl::StrCat("approle role ", mount, "/", str(r, "name"));
      vault::AppRole role;
      role.name = str(r, "name");
      role.role_id = str(r, "role_id");
      role.secret_ids = strings(r, "secret_ids");
      role.bind_secret_id = boolean(r, "bind_secret_id", true);
      role.policies = rolePolicies(r);
      if (absl::Status st = readTokenTtls(r, where, role.token_ttl, role.token_max_ttl); !st.ok()) {
        return st;
      }
      absl::Status st = vd.addAppRole(role, mount);
      if (!st.ok()) {
        return bad(where, std::string(st.message()));
      }
    }
  }
  for (const auto& j : list(seed, "jwt")) {
    std::string mount = str(j, "mount", "jwt");
    vault::JwtAuthConfig config;
    config.hs256_key = str(j, "hs256_key");
    config.bound_issuer = str(j, "bound_issuer");
    config.default_role = str(j, "default_role");
    vd.enableJwtAuth(mount, config);
    for (const auto& r : list(j, "roles")) {
      std::string where = absl::StrCat("jwt role ", mount, "/", str(r, "name"));
      vault::JwtRole role;
      role.name = str(r, "name");
      role.role_type = str(r, "role_type", "jwt");
      role.bound_audiences = strings(r, "bound_audiences");
      role.bound_subject = str(r, "bound_subject");
      role.user_claim = str(r, "user_claim", "sub");
      role.policies = rolePolicies(r);
      if (absl::Status st = readTokenTtls(r, where, role.token_ttl, role.token_max_ttl); !st.ok()) {
        return st;
      }
      absl::Status st = vd.addJwtRole(mount, role);
      if (!st.ok()) {
        return bad(where, std::string(st.message()));
      }
    }
  }
  if (boolean(seed, "sealed", false)) {
    vd.setSealed(true);
  }
  return absl::OkStatus();
}

absl::Status applySeedFile(VaultDouble& vd, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("seed: cannot open ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json seed = nlohmann::json::parse(ss.str(), nullptr, false);
  if (seed.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat("seed: ", path, " is not valid JSON"));
  }
  return applySeed(vd, seed);
}

}  // namespace secretsync::test
