#include "test/support/kube_double/kube_faults.h"

#include "test/support/kube_double/api_status.h"

namespace secretsync::test::kube {

FaultRule tooManyRequestsFault(int retry_after_seconds, int times) {
  FaultRule r;
  r.status = 429;
  r.times = times;
  r.body = "Too many requests, please try again later.\n";
  r.retry_after = std::to_string(retry_after_seconds);
  r.headers = {{"X-Kubernetes-PF-FlowSchema-UID", "5a4dc0d8-0000-4000-8000-flowschema001"},
               {"X-Kubernetes-PF-PriorityLevel-UID", "5a4dc0d8-0000-4000-8000-prioritylvl1"}};
  return r;
}

FaultRule statusFault(int code, const std::string& reason, const std::string& message,
                      std::optional<int> retry_after_seconds, int times) {
  ApiError err{.code = code, .reason = reason, .message = message};
  err.retry_after_seconds = retry_after_seconds;
  FaultRule r;
  r.status = code;
  r.times = times;
  r.body = err.toJson().dump() + "\n";
  if (retry_after_seconds.has_value()) {
    r.retry_after = std::to_string(*retry_after_seconds);
  }
  return r;
}

HttpServerResponse kubeFaultResponse(const FaultRule& rule) {
  HttpServerResponse res;
  res.status = rule.status;
  bool json = !rule.body.empty() && rule.body[0] == '{';
  res.headers = {{"Content-Type", json ? "application/json" : "text/plain; charset=utf-8"}};
  if (!json) {
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  }
  res.body = rule.body;
  if (rule.retry_after.has_value()) {
    res.headers.emplace_back("Retry-After", *rule.retry_after);
  }
  for (const auto& h : rule.headers) {
    res.headers.push_back(h);
  }
  return res;
}

}  // namespace secretsync::test::kube
