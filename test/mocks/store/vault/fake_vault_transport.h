#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "pkg/store/vault/vault_transport.h"

namespace secretsync::test {

// @return a VaultReply with `status` and `json` parsed (empty text = null body). For test
// literals only: a malformed literal is a bug in the test and throws.
inline store::vault::VaultReply vaultReply(int status, std::string_view json = "") {
  store::vault::VaultReply reply;
  reply.status = status;
  if (!json.empty()) {
    reply.body = nlohmann::json::parse(json);
  }
  return reply;
}

// A VaultTransport that answers from a script, keyed by "METHOD path?query" ("GET
// secret/data/db?version=3"; the query as `k=v&k2=v2` in call order, unescaped). Each key holds a
// queue of answers; the last one repeats. Unscripted calls get `fallback` (404 {"errors":[]}).
// Every call is recorded, with the token it carried.
//
// Thread-safety: all methods are safe from any thread.
class FakeVaultTransport final : public store::vault::VaultTransport {
 public:
  using Answer = absl::StatusOr<store::vault::VaultReply>;

  struct Recorded {
    std::string method;
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    std::optional<nlohmann::json> body;
    std::optional<std::string> token;
    bool send_namespace = true;
    std::string path_template;

    // "METHOD path?query", the script key.
    std::string key() const { return keyOf(method, path, query); }
  };

  static std::string keyOf(std::string_view method, std::string_view path,
                           const std::vector<std::pair<std::string, std::string>>& query) {
    std::string key = std::string(method) + " " + std::string(path);
    char separator = '?';
    for (const auto& [k, v] : query) {
      key += separator;
      key += k + "=" + v;
      separator = '&';
    }
    return key;
  }

  // Queues `answer` for calls to `key` ("GET secret/data/db").
  void on(const std::string& key, Answer answer) {
    std::lock_guard lock(mu_);
    script_[key].push_back(std::move(answer));
  }

  // Replaces whatever is queued for `key` with `answer`.
  void replace(const std::string& key, Answer answer) {
    std::lock_guard lock(mu_);
    script_[key].clear();
    script_[key].push_back(std::move(answer));
  }

  void setFallback(Answer answer) {
    std::lock_guard lock(mu_);
    fallback_ = std::move(answer);
  }

  Answer call(const store::vault::VaultCall& call) override {
    std::lock_guard lock(mu_);
    Recorded recorded{
        call.method,
        call.path,
        call.query,
        call.body,
        call.token != nullptr ? std::optional<std::string>(call.token->reveal()) : std::nullopt,
        call.send_namespace,
        call.path_template};
    const std::string key = recorded.key();
    calls_.push_back(std::move(recorded));
    auto it = script_.find(key);
    if (it == script_.end() || it->second.empty()) {
      return fallback_;
    }
    Answer answer = it->second.front();
    if (it->second.size() > 1) {
      it->second.pop_front();
    }
    return answer;
  }

  std::vector<Recorded> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

  // @return how many calls had script key `key`.
  int count(const std::string& key) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const Recorded& call : calls_) {
      n += call.key() == key ? 1 : 0;
    }
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::deque<Answer>> script_;
  Answer fallback_ = vaultReply(404, R"({"errors":[]})");
  std::vector<Recorded> calls_;
};

}  // namespace secretsync::test
