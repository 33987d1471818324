// Rotations per second of the atomic file sink: a target of N files rewritten with new content
// (each rotation: a new version directory, every file fsync'd, the ..data swap, the old version
// removed), and unchanged writes per second (the compare-before-write path that touches nothing).
//
// Usage: atomic_writer_bench [--dir D] [--files N] [--size BYTES] [--seconds S]
//   --dir defaults to a fresh directory under $TMPDIR (or /tmp); use /dev/shm to leave out fsync.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_flags.h"
#include "pkg/common/flags.h"
#include "pkg/sync/atomic_dir_writer.h"

namespace secretsync::bench {
namespace {

const std::vector<common::FlagSpec> kFlags = {
    {.name = "dir", .help = "base directory (default $TMPDIR or /tmp)"},
    {.name = "files", .help = "files per target (default 10)"},
    {.name = "size", .help = "bytes per file (default 1024)"},
    {.name = "seconds", .help = "duration of each phase (default 3)"},
};

sync::FileMap payload(int files, int size, int64_t version) {
  sync::FileMap map;
  for (int i = 0; i < files; ++i) {
    std::string bytes = absl::StrCat("v", version, ":");
    bytes.resize(static_cast<size_t>(size), 'x');
    map[absl::StrCat("key-", i)] = sync::FileContent{common::SecretString(std::move(bytes))};
  }
  return map;
}

int run(int argc, char** argv) {
  auto flags = common::parseFlags(std::vector<std::string>(argv + 1, argv + argc), kFlags);
  if (!flags.ok()) {
    std::cerr << flags.status() << "\n" << common::flagsHelp(kFlags);
    return 2;
  }
  const int files = intFlag(*flags, "files", 10);
  const int size = intFlag(*flags, "size", 1024);
  const int seconds = intFlag(*flags, "seconds", 3);
  const char* tmpdir = std::getenv("TMPDIR");
  std::string base = flags->get("dir", tmpdir != nullptr ? tmpdir : "/tmp");
  std::string templ = base + "/atomic_writer_bench_XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    std::cerr << "mkdtemp failed under " << base << "\n";
    return 1;
  }
  const std::string dir = templ + "/ns/name";
  const sync::AtomicDirWriter writer;
  using Clock = std::chrono::steady_clock;

  int64_t version = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(seconds);
  int64_t rotations = 0;
  while (Clock::now() < end) {
    auto result = writer.write(dir, payload(files, size, ++version));
    if (!result.ok() || !result->changed) {
      std::cerr << "rotation failed: " << result.status() << "\n";
      return 1;
    }
    ++rotations;
  }
  const double rot_secs = std::chrono::duration<double>(Clock::now() - start).count();

  const sync::FileMap same = payload(files, size, version);
  start = Clock::now();
  end = start + std::chrono::seconds(seconds);
  int64_t unchanged = 0;
  while (Clock::now() < end) {
    auto result = writer.write(dir, same);
    if (!result.ok() || result->changed) {
      std::cerr << "unchanged write failed or rotated: " << result.status() << "\n";
      return 1;
    }
    ++unchanged;
  }
  const double same_secs = std::chrono::duration<double>(Clock::now() - start).count();

  std::printf("dir=%s files=%d size=%d\n", templ.c_str(), files, size);
  std::printf("rotations: %lld in %.2f s = %.1f/s (%.2f ms each)\n",
              static_cast<long long>(rotations), rot_secs, rotations / rot_secs,
              1000.0 * rot_secs / static_cast<double>(rotations));
  std::printf("unchanged writes: %lld in %.2f s = %.1f/s (%.3f ms each)\n",
              static_cast<long long>(unchanged), same_secs, unchanged / same_secs,
              1000.0 * same_secs / static_cast<double>(unchanged));
  std::error_code ec;
  std::filesystem::remove_all(templ, ec);
  return 0;
}

}  // namespace
}  // namespace secretsync::bench

int main(int argc, char** argv) { return secretsync::bench::run(argc, argv); }
