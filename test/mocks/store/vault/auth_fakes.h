#pragma once

// Test doubles for the authentication and token code: a scripted VaultTransport and a gate for
// holding a call until a test lets it go. Named apart from the transport's own fakes.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "pkg/store/vault/vault_transport.h"

namespace secretsync::test {

// What a ScriptedAuthTransport received.
struct RecordedAuthCall {
  std::string method;
  std::string path;
  std::optional<nlohmann::json> body;
  // The X-Vault-Token value, or nullopt when the call carried none.
  std::optional<std::string> token;
};

// A VaultTransport answering from per-"METHOD path" handlers. Unscripted calls get 404
// {"errors":[]}. Handlers run without the fake's lock held, so one may block (on a Gate) while
// other calls go on.
//
// Thread-safety: all methods are safe from any thread.
class ScriptedAuthTransport final : public store::vault::VaultTransport {
 public:
  using Handler =
      std::function<absl::StatusOr<store::vault::VaultReply>(const store::vault::VaultCall&)>;

  void on(const std::string& method, const std::string& path, Handler handler) {
    std::lock_guard lock(mu_);
    handlers_[method + " " + path] = std::move(handler);
  }

  absl::StatusOr<store::vault::VaultReply> call(const store::vault::VaultCall& call) override {
    Handler handler;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(RecordedAuthCall{
          call.method, call.path, call.body,
          call.token == nullptr ? std::nullopt : std::optional<std::string>(call.token->reveal())});
      const auto it = handlers_.find(call.method + " " + call.path);
      if (it != handlers_.end()) {
        handler = it->second;
      }
    }
    if (!handler) {
      store::vault::VaultReply reply;
      reply.status = 404;
      reply.body = nlohmann::json{{"errors", nlohmann::json::array()}};
      return reply;
    }
    return handler(call);
  }

  std::vector<RecordedAuthCall> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

  int count(const std::string& method, const std::string& path) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const RecordedAuthCall& call : calls_) {
      if (call.method == method && call.path == path) {
        ++n;
      }
    }
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  std::vector<RecordedAuthCall> calls_;
};

// A 200 reply carrying an `auth` block (reference §2.3).
inline store::vault::VaultReply authReply(const std::string& token, int64_t lease_seconds,
                                          bool renewable) {
  store::vault::VaultReply reply;
  reply.status = 200;
  reply.body = nlohmann::json{{"request_id", "5f3c1f8e-0000-0000-0000-000000000000"},
                              {"lease_id", ""},
                              {"renewable", false},
                              {"lease_duration", 0},
                              {"data", nullptr},
                              {"wrap_info", nullptr},
                              {"warnings", nullptr},
                              {"auth",
                               {{"client_token", token},
                                {"accessor", "accessor-" + token},
                                {"policies", {"default", "reader"}},
                                {"token_policies", {"default", "reader"}},
                                {"metadata", {{"role", "reader"}}},
                                {"lease_duration", lease_seconds},
                                {"renewable", renewable},
                                {"entity_id", "entity"},
                                {"token_type", "service"},
                                {"orphan", true},
                                {"mfa_requirement", nullptr},
                                {"num_uses", 0}}}};
  return reply;
}

// A 200 auth/token/lookup-self reply (reference §2.2). A root token: ttl 0, expire_time null and
// no `renewable` key (renewable == nullopt).
inline store::vault::VaultReply lookupSelfReply(int64_t ttl_seconds,
                                                std::optional<bool> renewable) {
  store::vault::VaultReply reply;
  reply.status = 200;
  nlohmann::json data = {{"accessor", "acc"},
                         {"creation_time", 1700000000},
                         {"creation_ttl", ttl_seconds},
                         {"display_name", "token"},
                         {"entity_id", ""},
                         {"expire_time", nullptr},
                         {"explicit_max_ttl", 0},
                         {"meta", nullptr},
                         {"num_uses", 0},
                         {"orphan", false},
                         {"path", "auth/token/create"},
                         {"policies", {"default"}},
                         {"ttl", ttl_seconds},
                         {"type", "service"}};
  if (ttl_seconds > 0) {
    data["expire_time"] = "2027-01-15T10:00:00.000000000Z";
  }
  if (renewable.has_value()) {
    data["renewable"] = *renewable;
  }
  reply.body = nlohmann::json{{"data", data}, {"auth", nullptr}, {"warnings", nullptr}};
  return reply;
}

// A Vault error reply {"errors":[...]}, with core errors in multierror form when `multierror`.
inline store::vault::VaultReply errorReply(int status, const std::vector<std::string>& errors,
                                           bool multierror = false) {
  store::vault::VaultReply reply;
  reply.status = status;
  nlohmann::json list = nlohmann::json::array();
  if (multierror && !errors.empty()) {
    std::string text = std::to_string(errors.size()) +
                       (errors.size() == 1 ? " error occurred:\n" : " errors occurred:\n");
    for (const std::string& error : errors) {
      text += "\t* " + error + "\n";
    }
    text += "\n";
    list.push_back(text);
  } else {
    for (const std::string& error : errors) {
      list.push_back(error);
    }
  }
  reply.body = nlohmann::json{{"errors", list}};
  return reply;
}

// Holds callers of wait() until open(). Counts who is waiting so a test can tell when a rendezvous
// is complete without sleeping.
//
// Thread-safety: all methods are safe from any thread.
class AuthGate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    --waiting_;
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Blocks until at least `n` callers wait (or `timeout` passes). @return whether they did.
  bool awaitWaiting(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

// Polls `condition` every millisecond until it holds or `timeout` passes: only for rendezvous with
// threads blocked inside the code under test, where no event is observable.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace secretsync::test
