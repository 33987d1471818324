#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
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

// Splits --listen's "HOST:PORT" ("[::1]:0" too). @return false for anything else.
inline bool parseListenAddress(const std::string& listen, std::string* host, uint16_t* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  const std::string digits = listen.substr(colon + 1);
  char* end = nullptr;
  const long long value = std::strtoll(digits.c_str(), &end, 10);
  if (digits.empty() || end == nullptr || *end != '\0' || value < 0 || value > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

// Writes the bound port to --port-file when one was given. @return false (having said why on
// stderr) when it cannot.
inline bool writePortFile(const char* program, const std::string& path, uint16_t port) {
  if (path.empty() || writeFileAtomically(path, std::to_string(port) + "\n")) {
    return true;
  }
  std::fprintf(stderr, "%s: cannot write %s\n", program, path.c_str());
  return false;
}

// Announces the address on stdout (tests wait for that line), then waits for SIGTERM or SIGINT
// and says which one came.
inline void serveUntilStopSignal(const char* program, const std::string& base_url,
                                 const sigset_t& stop_signals) {
  std::cout << program << " listening on " << base_url << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "%s: %s, stopping\n", program, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

}  // namespace secretsync::test
