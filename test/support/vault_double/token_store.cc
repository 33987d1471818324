#include "test/support/vault_double/token_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "test/support/vault_double/envelope.h"

namespace secretsync::test::vault {

bool Token::isRoot() const {
  return std::find(policies.begin(), policies.end(), "root") != policies.end();
}

int64_t Token::ttlSeconds(common::MonotonicTime now) const {
  if (!expires) {
    return 0;
  }
  auto left = std::chrono::round<std::chrono::seconds>(expires_mono - now).count();
  return left < 0 ? 0 : left;
}

Token& TokenStore::create(const TokenSpec& spec) {
  Token t;
  t.id = spec.id.empty() ? absl::StrCat("hvs.", randomAlnum(24)) : spec.id;
  t.accessor = randomAlnum(24);
  std::vector<std::string> policies = spec.policies;
  bool root = std::find(policies.begin(), policies.end(), "root") != policies.end();
  if (!spec.no_default_policy && !root) {
    policies.push_back("default");
  }
  std::sort(policies.begin(), policies.end());
  policies.erase(std::unique(policies.begin(), policies.end()), policies.end());
  t.policies = std::move(policies);
  t.display_name = spec.display_name;
  t.meta = spec.meta;
  t.path = spec.path;
  t.orphan = spec.orphan;
  t.num_uses = spec.num_uses;
  t.creation_time = clock_.now();
  t.issue_time = t.creation_time;
  t.created_mono = clock_.monotonicNow();
  t.explicit_max_ttl = spec.max_ttl;
  if (root && spec.ttl.count() == 0) {
    t.expires = false;
    t.renewable = false;
  } else {
    t.expires = true;
    t.renewable = spec.renewable;
    t.max_ttl = spec.max_ttl.count() > 0 ? spec.max_ttl : kSystemMaxTtl;
    t.creation_ttl = spec.ttl.count() > 0 ? spec.ttl : kSystemMaxTtl;
    t.creation_ttl = std::min(t.creation_ttl, t.max_ttl);
    t.expires_mono = t.created_mono + t.creation_ttl;
    t.granted_ttl = t.creation_ttl;
  }
  auto [it, inserted] = tokens_.insert_or_assign(t.id, std::move(t));
  return it->second;
}

Token* TokenStore::lookup(const std::string& id) {
  auto it = tokens_.find(id);
  if (it == tokens_.end()) {
    return nullptr;
  }
  if (it->second.expires && clock_.monotonicNow() >= it->second.expires_mono) {
    tokens_.erase(it);
    return nullptr;
  }
  return &it->second;
}

bool TokenStore::revoke(const std::string& id) { return tokens_.erase(id) > 0; }

RenewResult TokenStore::renew(Token& token, std::chrono::seconds increment) {
  RenewResult result;
  if (!token.expires || !token.renewable) {
    result.error = "lease is not renewable";
    return result;
  }
  auto now = clock_.monotonicNow();
  if (now >= token.expires_mono) {
    result.error = "lease expired";
    return result;
  }
  auto max_left =
      std::chrono::duration_cast<std::chrono::seconds>(token.created_mono + token.max_ttl - now);
  if (max_left.count() <= 0) {
    result.error = "past the max TTL, cannot renew";
    return result;
  }
  std::chrono::seconds ttl = increment.count() > 0 ? increment : token.creation_ttl;
  if (ttl > max_left) {
    result.warnings.push_back(
        absl::StrCat("TTL of \"", formatGoDuration(ttl), "\" exceeded the effective max_ttl of \"",
                     formatGoDuration(max_left), "\"; TTL value is capped accordingly"));
    ttl = max_left;
  }
  token.expires_mono = now + ttl;
  token.granted_ttl = ttl;
  token.last_renewal = clock_.now();
  result.ttl = ttl;
  return result;
}

nlohmann::json TokenStore::lookupData(const Token& t) const {
  auto now_mono = clock_.monotonicNow();
  nlohmann::json d;
  d["accessor"] = t.accessor;
  d["creation_time"] =
      std::chrono::duration_cast<std::chrono::seconds>(t.creation_time.time_since_epoch()).count();
  d["creation_ttl"] = t.creation_ttl.count();
  d["display_name"] = t.display_name;
  d["entity_id"] = "";
  d["explicit_max_ttl"] = t.explicit_max_ttl.count();
  d["id"] = t.id;
  d["meta"] = t.meta.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.meta);
  d["num_uses"] = t.num_uses;
  d["orphan"] = t.orphan;
  d["path"] = t.path;
  d["policies"] = t.policies;
  d["ttl"] = t.ttlSeconds(now_mono);
  d["type"] = "service";
  if (t.expires) {
    auto left = t.expires_mono - now_mono;
    d["expire_time"] = formatRfc3339Nano(
        clock_.now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(left));
    d["issue_time"] = formatRfc3339Nano(t.issue_time);
    d["renewable"] = t.renewable;
    if (t.last_renewal.has_value()) {
      d["last_renewal"] = formatRfc3339Nano(*t.last_renewal);
      d["last_renewal_time"] =
          std::chrono::duration_cast<std::chrono::seconds>(t.last_renewal->time_since_epoch())
              .count();
    }
  } else {
    d["expire_time"] = nullptr;
  }
  return d;
}

nlohmann::json TokenStore::authBlock(const Token& t) const {
  nlohmann::json a;
  a["client_token"] = t.id;
  a["accessor"] = t.accessor;
  a["policies"] = t.policies;
  if (!t.policies.empty()) {
    a["token_policies"] = t.policies;
  }
  a["metadata"] = t.meta.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.meta);
  a["lease_duration"] = t.expires ? t.granted_ttl.count() : 0;
  a["renewable"] = t.renewable;
  a["entity_id"] = "";
  a["token_type"] = "service";
  a["orphan"] = t.orphan;
  a["mfa_requirement"] = nullptr;
  a["num_uses"] = t.num_uses;
  return a;
}

}  // namespace secretsync::test::vault
