#pragma once

// What every row of the hostile-input tables shares: the expected error, the log capture, the
// checks that the error names what was wrong and carries no secret, and peers that misbehave
// below HTTP (a slow-loris server).

#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/common/log.h"

namespace secretsync::hostile {

// Every secret value and token the tables plant starts with this, so one search finds any of
// them in a message or a log, whichever row planted it.
inline constexpr char kSentinel[] = "SENTINEL-";

// What a row expects: the canonical code and the substrings that name the object, the field or
// the problem.
struct Expected {
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  std::vector<std::string> names;
};

// Routes the process logger into a buffer at debug level (the most verbose, where a leak would
// show first) for the lifetime of the capture.
//
// Thread-safety: construct and destroy on the test thread; text() after the logging threads are
// done with the lines that matter (the logger writes each line under its own lock).
class LogCapture {
 public:
  LogCapture()
      : previous_(common::log::configure({.level = common::log::Level::kDebug, .out = &out_})) {}
  ~LogCapture() { common::log::configure(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  common::log::LoggerOptions previous_;
};

// @return `secrets` with their base64 forms added (Kubernetes Secrets carry values base64'd).
inline std::vector<std::string> withBase64(const std::vector<std::string>& secrets) {
  std::vector<std::string> all = secrets;
  for (const std::string& secret : secrets) {
    all.push_back(absl::Base64Escape(secret));
  }
  return all;
}

// (1) the error has the expected code and names what was wrong; (2) neither it nor the log holds
// a sentinel or one of `secrets` (tokens that cannot carry the sentinel prefix, such as JWTs).
inline void expectNamedError(const absl::Status& status, const Expected& expected,
                             const std::string& log_text,
                             const std::vector<std::string>& secrets = {}) {
  using ::testing::HasSubstr;
  using ::testing::Not;
  EXPECT_EQ(status.code(), expected.code) << status;
  for (const std::string& name : expected.names) {
    EXPECT_THAT(std::string(status.message()), HasSubstr(name));
  }
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kSentinel)));
  EXPECT_THAT(log_text, Not(HasSubstr(kSentinel)));
  for (const std::string& secret : withBase64(secrets)) {
    ASSERT_FALSE(secret.empty());
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(secret)));
    EXPECT_THAT(log_text, Not(HasSubstr(secret)));
  }
}

// gtest parameter names: letters, digits and '_' only.
template <typename Row>
std::string rowName(const ::testing::TestParamInfo<Row>& info) {
  return info.param.name;
}

// A TCP peer on 127.0.0.1 that reads whatever comes and answers one byte of `reply` every
// `interval`, never finishing in time: a slow-loris server that keeps a client's transfer alive
// without ever completing it, below the HTTP layer (the status line itself trickles).
//
// Thread-safety: construct and destroy on one thread; connections are served on threads of
// their own, joined by the destructor.
class TricklingServer {
 public:
  explicit TricklingServer(std::string reply,
                           std::chrono::milliseconds interval = std::chrono::milliseconds(200))
      : reply_(std::move(reply)), interval_(interval) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }

  ~TricklingServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    for (std::thread& connection : connections_) {
      connection.join();
    }
    ::close(fd_);
  }

  TricklingServer(const TricklingServer&) = delete;
  TricklingServer& operator=(const TricklingServer&) = delete;

  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void acceptLoop() {
    while (!stopping_) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) {
        return;
      }
      connections_.emplace_back([this, client] { serve(client); });
    }
  }

  void serve(int client) {
    char buffer[4096];
    // The request is read but not parsed: the reply is the same whatever was asked.
    (void)::recv(client, buffer, sizeof(buffer), 0);
    for (size_t i = 0; i < reply_.size() && !stopping_; ++i) {
      if (::send(client, &reply_[i], 1, MSG_NOSIGNAL) != 1) {
        break;
      }
      // Short steps so the destructor never waits a whole interval.
      for (auto waited = std::chrono::milliseconds(0); waited < interval_ && !stopping_;
           waited += std::chrono::milliseconds(10)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    ::close(client);
  }

  const std::string reply_;
  const std::chrono::milliseconds interval_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

}  // namespace secretsync::hostile
