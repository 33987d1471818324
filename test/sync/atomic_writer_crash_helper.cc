// Rotates a target through versions START, START+1, ... forever, so a test can SIGKILL it at a
// random moment. After the first rotation completes it writes one byte to the file descriptor
// READY_FD, so the test kills it mid-loop rather than during process start-up.
//
// Usage: atomic_writer_crash_helper DIR START READY_FD

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "pkg/sync/atomic_dir_writer.h"
#include "test/sync/crash_payload.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DIR START READY_FD\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int64_t start = std::strtoll(argv[2], nullptr, 10);
  const int ready_fd = std::atoi(argv[3]);
  const secretsync::sync::AtomicDirWriter writer;
  for (int64_t version = start;; ++version) {
    const auto result = writer.write(dir, secretsync::sync::testing::payload(version));
    if (!result.ok()) {
      std::fprintf(stderr, "write failed: %s\n", std::string(result.status().message()).c_str());
      return 1;
    }
    if (version == start) {
      const char byte = 'r';
      if (::write(ready_fd, &byte, 1) != 1) {
        return 1;
      }
      ::close(ready_fd);
    }
  }
}
