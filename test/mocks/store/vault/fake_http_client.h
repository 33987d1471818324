#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "pkg/common/clock.h"
#include "pkg/common/http/http_client.h"

namespace secretsync::test {

// An HttpClient answering from a queue, whatever the request; the last answer repeats. Records
// every request. Streamed requests get the same answers.
//
// Thread-safety: all methods are safe from any thread.
class ScriptedHttpClient final : public common::http::HttpClient {
 public:
  using Answer = absl::StatusOr<common::http::HttpResponse>;

  static common::http::HttpResponse response(int status, std::string body = "",
                                             std::vector<common::http::Header> headers = {}) {
    common::http::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
  }

  void push(Answer answer) {
    std::lock_guard lock(mu_);
    answers_.push_back(std::move(answer));
  }

  Answer send(const common::http::HttpRequest& request) override {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    if (answers_.empty()) {
      return absl::InternalError("ScriptedHttpClient: no answer scripted");
    }
    Answer answer = answers_.front();
    if (answers_.size() > 1) {
      answers_.pop_front();
    }
    return answer;
  }

  // The scripted answer; a 2xx body is handed to `on_body` in one piece.
  Answer sendStreaming(const common::http::HttpRequest& request, const BodyChunkHandler& on_body,
                       const std::atomic<bool>* /*stop*/) override {
    Answer answer = send(request);
    if (answer.ok() && answer->status >= 200 && answer->status <= 299) {
      if (!answer->body.empty()) {
        on_body(answer->body);
      }
      answer->body.clear();
    }
    return answer;
  }

  std::vector<common::http::HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<Answer> answers_;
  std::vector<common::http::HttpRequest> requests_;
};

}  // namespace secretsync::test
