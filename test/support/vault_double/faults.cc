#include "test/support/vault_double/faults.h"

#include <algorithm>

#include "test/support/vault_double/envelope.h"

namespace secretsync::test::vault {

FaultRule FaultRule::sealed(int times) { return error(503, "Vault is sealed", times); }

FaultRule FaultRule::error(int status, const std::string& message, int times) {
  FaultRule r;
  r.status = status;
  r.times = times;
  std::vector<std::string> errors;
  if (!message.empty()) {
    errors.push_back(message);
  }
  r.body = encodeJson(nlohmann::json{{"errors", errors}});
  return r;
}

FaultRule FaultRule::rateLimited(std::optional<std::string> retry_after, int times) {
  FaultRule r = error(429, "request path \"\": rate limit quota exceeded", times);
  r.retry_after = std::move(retry_after);
  return r;
}

FaultRule FaultRule::dropConnection(int times) {
  FaultRule r;
  r.drop_connection = true;
  r.times = times;
  return r;
}

FaultRule FaultRule::latencyOnly(std::chrono::milliseconds latency, int times) {
  FaultRule r;
  r.latency = latency;
  r.times = times;
  return r;
}

uint64_t FaultInjector::add(FaultRule rule) {
  uint64_t id = next_id_++;
  rules_.push_back(Entry{id, std::move(rule), 0});
  return id;
}

void FaultInjector::remove(uint64_t id) {
  rules_.erase(
      std::remove_if(rules_.begin(), rules_.end(), [id](const Entry& e) { return e.id == id; }),
      rules_.end());
}

std::optional<FaultRule> FaultInjector::match(const std::string& method, const std::string& path) {
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    const FaultRule& r = it->rule;
    if (r.times == 0) {
      continue;
    }
    if (!r.method.empty() && r.method != method) {
      continue;
    }
    if (path.compare(0, r.path_prefix.size(), r.path_prefix) != 0) {
      continue;
    }
    ++it->hits;
    FaultRule copy = r;
    if (it->rule.times > 0) {
      --it->rule.times;
    }
    return copy;
  }
  return std::nullopt;
}

uint64_t FaultInjector::hits(uint64_t id) const {
  for (const auto& e : rules_) {
    if (e.id == id) {
      return e.hits;
    }
  }
  return 0;
}

HttpServerResponse faultResponse(const FaultRule& rule, const HttpServerRequest& request) {
  if (!rule.redirect_to.empty()) {
    HttpServerResponse res = jsonResponse(307, "");
    res.headers.emplace_back("Location", rule.redirect_to + request.target);
    return res;
  }
  std::string body = rule.body;
  if (body.empty() && rule.status >= 400) {
    body = "{\"errors\":[]}\n";
  }
  HttpServerResponse res = jsonResponse(rule.status, body);
  if (rule.retry_after.has_value()) {
    res.headers.emplace_back("Retry-After", *rule.retry_after);
  }
  for (const auto& h : rule.headers) {
    res.headers.push_back(h);
  }
  return res;
}

}  // namespace secretsync::test::vault
