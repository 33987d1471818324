#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace secretsync::test {

// A program run as a child process for end-to-end tests, stdout and stderr in `log_path`;
// killed (SIGKILL) and reaped if still running when destroyed.
//
// Thread-safety: one thread owns it.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
    std::vector<std::string> storage = argv;
    // Everything the child needs is built before fork(): a forked child of a threaded process
    // may only call async-signal-safe functions.
    std::vector<char*> args;
    for (std::string& arg : storage) {
      args.push_back(arg.data());
    }
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  // Sends `signal` and waits up to `timeout` for the exit.
  // @return the exit status, -1 on timeout or death by a signal.
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (pid_ <= 0) {
      return -1;
    }
    ::kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace secretsync::test
