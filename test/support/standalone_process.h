#pragma once

#include <cstdio>
#include <fstream>
#include <string>

#include <signal.h>

namespace secretsync::test {

// What the standalone doubles (vault-double, kube-double) share around their main().

// Blocks SIGTERM and SIGINT in the calling thread, so threads started afterwards inherit the mask
// and only sigwait() on the returned set receives them; ignores SIGPIPE (clients hang up).
// Call before any thread starts.
inline sigset_t blockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

// Writes `content` to `path` through a temporary file and a rename, so a test polling the file
// (e.g. for the port) never reads it half-written. @return false on any failure.
inline bool writeFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out || !(out << content) || !out.flush()) {
      return false;
    }
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace secretsync::test
