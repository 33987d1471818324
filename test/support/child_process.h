#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace secretsync::test {

// A program run as a child process for end-to-end tests, stdout and stderr in `log_path`;
// killed (SIGKILL) and reaped if still running when destroyed.
//
// Thread-safety: one thread owns it.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path)
      : ChildProcess(argv, log_path, {}) {}

  // As above, with `extra_env` ("NAME=value") added to the inherited environment (a name given
  // there wins over the inherited one). `append_log` appends to `log_path` instead of truncating
  // it, so a restarted process keeps the earlier run's output.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::vector<std::string>& extra_env, bool append_log = false) {
    std::vector<std::string> storage = argv;
    // Everything the child needs is built before fork(): a forked child of a threaded process
    // may only call async-signal-safe functions.
    std::vector<char*> args;
    for (std::string& arg : storage) {
      args.push_back(arg.data());
    }
    args.push_back(nullptr);
    std::vector<std::string> env_storage = extra_env;
    std::vector<char*> env;
    for (std::string& entry : env_storage) {
      env.push_back(entry.data());
    }
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string entry(*e);
      const std::string name = entry.substr(0, entry.find('='));
      bool overridden = false;
      for (const std::string& extra : extra_env) {
        overridden = overridden || extra.substr(0, extra.find('=')) == name;
      }
      if (!overridden) {
        env.push_back(*e);
      }
    }
    env.push_back(nullptr);
    const int flags = O_WRONLY | O_CREAT | (append_log ? O_APPEND : O_TRUNC);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), flags, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execve(args[0], args.data(), env.data());
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

  // @return whether the child is still running. A child found to have exited is reaped and its
  // status kept for exitStatus().
  bool running() {
    if (pid_ <= 0) {
      return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      wait_status_ = status;
      return false;
    }
    return true;
  }

  // @return the process id while it runs (for /proc), -1 once reaped.
  pid_t pid() const { return pid_; }

  // @return the raw wait status (WIFEXITED, WTERMSIG...) once the child was reaped.
  std::optional<int> exitStatus() const { return wait_status_; }

  // Sends `signal` without waiting; running() later reaps the child and keeps its status.
  void sendSignal(int signal) {
    if (pid_ > 0) {
      ::kill(pid_, signal);
    }
  }

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
        wait_status_ = status;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> wait_status_;
};

}  // namespace secretsync::test
