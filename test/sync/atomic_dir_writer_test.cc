#include "pkg/sync/atomic_dir_writer.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/common/read_file.h"
#include "test/sync/crash_payload.h"

namespace secretsync::sync {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::payload;
using testing::payloadContent;
using testing::payloadKeys;
using testing::payloadMode;
using ::testing::UnorderedElementsAreArray;

FileContent file(std::string bytes, mode_t mode = 0600) {
  return FileContent{common::SecretString(std::move(bytes)), mode};
}

// A fresh directory under `base`, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& base = ::testing::TempDir()) {
    std::string templ = (fs::path(base) / "atomic_writer_XXXXXX").string();
    const char* made = ::mkdtemp(templ.data());
    EXPECT_NE(made, nullptr) << templ;
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

using common::readFile;

struct stat lstatOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

mode_t modeOf(const std::string& path) { return lstatOf(path).st_mode & 07777; }

std::string linkOf(const std::string& path) {
  std::error_code ec;
  return fs::read_symlink(path, ec).string();
}

// Every entry name of `dir`.
std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

std::vector<std::string> versionDirs(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& name : entries(dir)) {
    if (name.starts_with("..2")) {
      out.push_back(name);
    }
  }
  return out;
}

std::set<std::string> topNames(const std::vector<std::string>& keys) {
  std::set<std::string> out;
  for (const std::string& key : keys) {
    out.insert(key.substr(0, key.find('/')));
  }
  return out;
}

std::set<std::string> visibleNames(const std::string& dir) {
  std::set<std::string> out;
  for (const std::string& name : entries(dir)) {
    if (!name.starts_with("..")) {
      out.insert(name);
    }
  }
  return out;
}

TEST(AtomicDirWriterTest, WritesTheKubeletLayout) {
  TempDir tmp;
  const std::string dir = tmp.sub("ns/name");
  const AtomicDirWriter writer;
  auto result = writer.write(dir, {{"username", file("admin")},
                                   {"conf/app.yaml", file("a: 1\n", 0640)},
                                   {".dockerconfigjson", file("{}")}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->changed);
  EXPECT_THAT(result->files_written, ElementsAre(".dockerconfigjson", "conf/app.yaml", "username"));
  EXPECT_THAT(result->version_dir,
              ::testing::MatchesRegex("\\.\\.[0-9]{4}_[0-9]{2}_[0-9]{2}_[0-9]{2}_[0-9]{2}_[0-9]{2}"
                                      "\\.[0-9]{9}"));

  EXPECT_EQ(entries(dir), (std::set<std::string>{"..data", "..lock", result->version_dir,
                                                 ".dockerconfigjson", "conf", "username"}));
  EXPECT_EQ(linkOf(dir + "/..data"), result->version_dir);
  EXPECT_EQ(linkOf(dir + "/username"), "..data/username");
  EXPECT_EQ(linkOf(dir + "/conf"), "..data/conf");  // Nested key: top-level component only.
  EXPECT_EQ(linkOf(dir + "/.dockerconfigjson"), "..data/.dockerconfigjson");
  EXPECT_EQ(readFile(dir + "/username"), "admin");
  EXPECT_EQ(readFile(dir + "/conf/app.yaml"), "a: 1\n");
  EXPECT_TRUE(S_ISREG(lstatOf(dir + "/" + result->version_dir + "/username").st_mode));

  // Modes: as asked; directories widened to 0750 because one file is group-readable.
  EXPECT_EQ(modeOf(dir + "/" + result->version_dir + "/username"), 0600u);
  EXPECT_EQ(modeOf(dir + "/" + result->version_dir + "/conf/app.yaml"), 0640u);
  EXPECT_EQ(modeOf(dir + "/" + result->version_dir), 0750u);
  EXPECT_EQ(modeOf(dir + "/" + result->version_dir + "/conf"), 0750u);
  EXPECT_EQ(modeOf(dir), 0750u);
}

TEST(AtomicDirWriterTest, OwnerOnlyByDefaultWhateverTheUmask) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const mode_t old_umask = ::umask(0);
  auto result = AtomicDirWriter().write(dir, {{"k", file("v")}});
  ::umask(old_umask);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(modeOf(dir + "/" + result->version_dir + "/k"), 0600u);
  EXPECT_EQ(modeOf(dir + "/" + result->version_dir), 0700u);
  EXPECT_EQ(modeOf(dir), 0700u);
  EXPECT_EQ(modeOf(dir + "/..lock"), 0600u);
}

TEST(AtomicDirWriterTest, UnchangedPayloadTouchesNothing) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  const FileMap files = {{"a", file("1")}, {"n/b", file("2", 0640)}};
  auto first = writer.write(dir, files);
  ASSERT_TRUE(first.ok()) << first.status();

  const std::vector<std::string> watched = {dir,
                                            dir + "/..data",
                                            dir + "/a",
                                            dir + "/n",
                                            dir + "/" + first->version_dir,
                                            dir + "/" + first->version_dir + "/a",
                                            dir + "/" + first->version_dir + "/n/b"};
  std::vector<struct stat> before;
  for (const auto& path : watched) {
    before.push_back(lstatOf(path));
  }
  // Coarse timestamps would hide a rewrite within the same tick; wait past one.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  auto second = writer.write(dir, files);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->changed);
  EXPECT_THAT(second->files_written, IsEmpty());
  EXPECT_EQ(second->version_dir, first->version_dir);
  for (size_t i = 0; i < watched.size(); ++i) {
    const struct stat after = lstatOf(watched[i]);
    EXPECT_EQ(after.st_ino, before[i].st_ino) << watched[i];
    EXPECT_EQ(after.st_mtim.tv_sec, before[i].st_mtim.tv_sec) << watched[i];
    EXPECT_EQ(after.st_mtim.tv_nsec, before[i].st_mtim.tv_nsec) << watched[i];
    EXPECT_EQ(after.st_ctim.tv_nsec, before[i].st_ctim.tv_nsec) << watched[i];
  }
}

TEST(AtomicDirWriterTest, ContentChangeRotatesAndRemovesTheOldVersion) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  auto first = writer.write(dir, {{"a", file("1")}});
  ASSERT_TRUE(first.ok());
  auto second = writer.write(dir, {{"a", file("2")}});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->changed);
  EXPECT_NE(second->version_dir, first->version_dir);
  EXPECT_EQ(readFile(dir + "/a"), "2");
  EXPECT_THAT(versionDirs(dir), ElementsAre(second->version_dir));
}

TEST(AtomicDirWriterTest, ModeChangeAloneIsAChange) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  ASSERT_TRUE(writer.write(dir, {{"a", file("1", 0600)}}).ok());
  auto result = writer.write(dir, {{"a", file("1", 0400)}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->changed);
  EXPECT_EQ(modeOf(dir + "/" + result->version_dir + "/a"), 0400u);
  EXPECT_FALSE(writer.write(dir, {{"a", file("1", 0400)}})->changed);
}

TEST(AtomicDirWriterTest, KeysAddedAndRemoved) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  ASSERT_TRUE(writer.write(dir, {{"a", file("1")}, {"b", file("2")}, {"d/x", file("3")}}).ok());
  EXPECT_EQ(visibleNames(dir), (std::set<std::string>{"a", "b", "d"}));

  auto result = writer.write(dir, {{"a", file("1")}, {"c", file("4")}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->changed);
  EXPECT_EQ(visibleNames(dir), (std::set<std::string>{"a", "c"}));
  EXPECT_EQ(readFile(dir + "/c"), "4");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir + "/b")));

  // A subset of the keys with the same content is still a change.
  result = writer.write(dir, {{"a", file("1")}});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->changed);
  EXPECT_EQ(visibleNames(dir), (std::set<std::string>{"a"}));

  // The empty payload is a valid target with no files.
  result = writer.write(dir, {});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->changed);
  EXPECT_THAT(visibleNames(dir), IsEmpty());
  EXPECT_FALSE(writer.write(dir, {})->changed);
}

TEST(AtomicDirWriterTest, InvalidKeysAreRefusedNamingTheKey) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  const std::vector<std::string> bad = {"",
                                        "/abs",
                                        "..data",
                                        "..data_tmp",
                                        "..lock",
                                        "..2024_01_01_00_00_00.1",
                                        "..",
                                        ".",
                                        "a/../b",
                                        "a/./b",
                                        "a//b",
                                        "a/",
                                        "a/..x",
                                        std::string("nul\0byte", 8),
                                        std::string(256, 'k'),
                                        std::string(600, 'k') + "/" + std::string(600, 'k')};
  for (const std::string& key : bad) {
    auto result = writer.write(dir, {{key, file("v")}});
    ASSERT_FALSE(result.ok()) << key;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("invalid file key"));
  }
  auto result = writer.write(dir, {{"good", file("v")}, {"the-bad/..x", file("v")}});
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("\"the-bad/..x\""));
  EXPECT_FALSE(fs::exists(dir)) << "nothing may be created for an invalid payload";

  // A key that is also a directory of another key, and a mode beyond the permission bits.
  result = writer.write(dir, {{"a", file("v")}, {"a/b", file("v")}});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("\"a/b\""));
  result = writer.write(dir, {{"a", file("v", 04755)}});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);

  for (const std::string key : {".dockerconfigjson", "a.b", "x/.y", "x/y/z", ".x..y"}) {
    EXPECT_TRUE(AtomicDirWriter::validateKey(key).ok()) << key;
  }
}

TEST(AtomicDirWriterTest, ErrorsNeverCarryContent) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  ASSERT_TRUE(AtomicDirWriter().write(dir, {{"a", file("v")}}).ok());
  // A foreign regular file where a visible symlink must go.
  ASSERT_TRUE(std::ofstream(dir + "/b") << "foreign");
  auto result = AtomicDirWriter().write(dir, {{"a", file("v")}, {"b", file("TOP-SECRET")}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(dir + "/b"));
  EXPECT_THAT(std::string(result.status().message()), ::testing::Not(HasSubstr("TOP-SECRET")));
  EXPECT_EQ(readFile(dir + "/b"), "foreign");
  EXPECT_EQ(readFile(dir + "/a"), "v");
  EXPECT_EQ(versionDirs(dir).size(), 1u);
}

TEST(AtomicDirWriterTest, RepairsCrashLeftoversWithoutRotating) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  const FileMap files = {{"a", file("1")}, {"b", file("2")}};
  auto first = writer.write(dir, files);
  ASSERT_TRUE(first.ok());
  // What a crash can leave: a half-written version, a ..data_tmp, a missing visible link, and a
  // stale visible link of a removed key.
  ASSERT_TRUE(fs::create_directory(dir + "/..2000_01_01_00_00_00.000000001"));
  ASSERT_TRUE(std::ofstream(dir + "/..2000_01_01_00_00_00.000000001/a") << "partial");
  fs::create_symlink("..2000_01_01_00_00_00.000000001", dir + "/..data_tmp");
  fs::remove(dir + "/b");
  fs::create_symlink("..data/gone", dir + "/gone");

  auto second = writer.write(dir, files);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->changed);
  EXPECT_EQ(entries(dir),
            (std::set<std::string>{"..data", "..lock", first->version_dir, "a", "b"}));
  EXPECT_EQ(readFile(dir + "/b"), "2");
}

TEST(AtomicDirWriterTest, DanglingDataLinkIsRewritten) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  auto first = writer.write(dir, {{"a", file("1")}});
  ASSERT_TRUE(first.ok());
  fs::remove_all(dir + "/" + first->version_dir);
  auto second = writer.write(dir, {{"a", file("1")}});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->changed);
  EXPECT_EQ(readFile(dir + "/a"), "1");
}

TEST(AtomicDirWriterTest, OwnerAndGroup) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "chown to another user needs root";
  }
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer(AtomicWriteOptions{.owner = 65534, .group = 65534});
  auto result = writer.write(dir, {{"a", file("1", 0440)}, {"n/b", file("2", 0440)}});
  ASSERT_TRUE(result.ok()) << result.status();
  for (const std::string& path :
       {dir, dir + "/" + result->version_dir, dir + "/" + result->version_dir + "/a",
        dir + "/" + result->version_dir + "/n/b"}) {
    EXPECT_EQ(lstatOf(path).st_uid, 65534u) << path;
    EXPECT_EQ(lstatOf(path).st_gid, 65534u) << path;
  }
  EXPECT_EQ(modeOf(dir + "/" + result->version_dir + "/a"), 0440u);
  EXPECT_FALSE(writer.write(dir, {{"a", file("1", 0440)}, {"n/b", file("2", 0440)}})->changed);
  // Another owner is a change.
  EXPECT_TRUE(AtomicDirWriter(AtomicWriteOptions{.owner = 0, .group = 0})
                  .write(dir, {{"a", file("1", 0440)}, {"n/b", file("2", 0440)}})
                  ->changed);
}

TEST(AtomicDirWriterTest, RemoveDeletesOnlyWhatItWrote) {
  TempDir tmp;
  const AtomicDirWriter writer;
  const std::string dir = tmp.sub("t");
  ASSERT_TRUE(writer.write(dir, {{"a", file("1")}, {"n/b", file("2")}}).ok());
  ASSERT_TRUE(writer.remove(dir).ok());
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(writer.remove(dir).ok()) << "a missing target is fine";

  // Partially written: an orphan version and ..data_tmp, no ..data; plus a foreign file, kept.
  const std::string partial = tmp.sub("p");
  fs::create_directory(partial);
  fs::create_directory(partial + "/..2000_01_01_00_00_00.000000001");
  fs::create_symlink("..2000_01_01_00_00_00.000000001", partial + "/..data_tmp");
  ASSERT_TRUE(std::ofstream(partial + "/foreign") << "x");
  ASSERT_TRUE(writer.remove(partial).ok());
  EXPECT_EQ(entries(partial), std::set<std::string>{"foreign"});
}

TEST(AtomicDirWriterTest, FailedWriteLeavesTheOldContent) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  auto first = writer.write(dir, payload(1));
  ASSERT_TRUE(first.ok());

  // A child that may write at most 64 KiB per file (RLIMIT_FSIZE) tries a 1 MiB file.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const struct rlimit limit = {64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    FileMap big = payload(2);
    big["b.txt"] = file(std::string(1 << 20, 'z'));
    auto result = writer.write(dir, big);
    const bool names_path =
        !result.ok() && std::string(result.status().message()).find(dir) != std::string::npos;
    ::_exit(!result.ok() && names_path ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the write should have failed, naming the path";

  for (const std::string& key : payloadKeys(1)) {
    EXPECT_EQ(readFile(dir + "/" + key), payloadContent(1, key)) << key;
  }
  EXPECT_THAT(versionDirs(dir), ElementsAre(first->version_dir)) << "the failed version is gone";
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir + "/..data_tmp")));
  auto next = writer.write(dir, payload(2));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(readFile(dir + "/a"), payloadContent(2, "a"));
}

// Reads every file of one version through an open descriptor of `..data`, so all come from the
// version `..data` named at open time. nullopt when that version was deleted under us (retry).
std::optional<int64_t> readConsistentVersion(const std::string& dir, std::string* error) {
  const int dfd = ::open((dir + "/..data").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    return std::nullopt;
  }
  std::optional<int64_t> version;
  bool vanished = false;
  for (const std::string& key : payloadKeys(1)) {
    const int fd = ::openat(dfd, key.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (key != "extra") {
        vanished = true;
      }
      continue;
    }
    std::string content(64 * 1024, '\0');
    const ssize_t n = ::read(fd, content.data(), content.size());
    ::close(fd);
    content.resize(n > 0 ? static_cast<size_t>(n) : 0);
    const int64_t v = std::strtoll(content.c_str() + 1, nullptr, 10);
    if (!version.has_value()) {
      version = v;
    }
    if (v != *version || content != payloadContent(v, key)) {
      *error = "mixed or partial version in " + key;
    }
  }
  ::close(dfd);
  if (vanished) {
    return std::nullopt;
  }
  return version;
}

TEST(AtomicDirWriterTest, ReadersNeverSeeAMix) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  ASSERT_TRUE(writer.write(dir, payload(0)).ok());
  std::atomic<bool> done{false};
  std::atomic<int64_t> snapshots{0};
  std::atomic<int64_t> file_reads{0};
  std::string error;
  std::thread reader([&] {
    int64_t last = 0;
    while (!done.load()) {
      const std::optional<int64_t> v = readConsistentVersion(dir, &error);
      if (v.has_value()) {
        ++snapshots;
        if (*v < last) {
          error = "version went backwards";
        }
        last = *v;
      }
      // Through the visible paths: each file whole, of some version, never partial.
      for (const std::string key : {"a", "nested/deeper/y"}) {
        const std::optional<std::string> content = readFile(dir + "/" + key);
        if (content.has_value()) {
          ++file_reads;
          const int64_t fv = std::strtoll(content->c_str() + 1, nullptr, 10);
          if (*content != payloadContent(fv, key)) {
            error = "partial file " + std::string(key);
          }
        }
      }
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int rotations = 0;
  for (int64_t v = 1; v <= 400 && std::chrono::steady_clock::now() < deadline; ++v) {
    ASSERT_TRUE(writer.write(dir, payload(v)).ok());
    ++rotations;
  }
  done = true;
  reader.join();
  EXPECT_EQ(error, "");
  EXPECT_GT(snapshots.load(), 0);
  std::cout << "rotations=" << rotations << " consistent_snapshots=" << snapshots.load()
            << " visible_file_reads=" << file_reads.load() << "\n";
}

// Two writers for one target, in two threads, serialise on the lock and both succeed.
TEST(AtomicDirWriterTest, ConcurrentWritersSerialise) {
  TempDir tmp;
  const std::string dir = tmp.sub("t");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      const AtomicDirWriter writer;
      for (int i = 0; i < 10; ++i) {
        if (!writer.write(dir, payload(t * 100 + i)).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(versionDirs(dir).size(), 1u);
  std::string error;
  EXPECT_TRUE(readConsistentVersion(dir, &error).has_value());
  EXPECT_EQ(error, "");
}

// --- kill -9 at random moments of a rotation loop -------------------------------------------

// After a crash: `..data` names one complete version no older than `at_least`, and the visible
// paths show exactly it (a key the version adds may still lack its visible link, and one it
// removed may still have a dangling one: both read as absent). @return the version.
int64_t expectOneCompleteVersion(const std::string& dir, int64_t at_least) {
  std::string error;
  const std::optional<int64_t> v = readConsistentVersion(dir, &error);
  EXPECT_TRUE(v.has_value()) << "..data must name a complete version";
  EXPECT_EQ(error, "");
  if (!v.has_value()) {
    return -1;
  }
  EXPECT_GE(*v, at_least);
  const std::vector<std::string> keys = payloadKeys(*v);
  const std::string data = dir + "/..data/";
  EXPECT_EQ(fs::exists(data + "extra"), *v % 2 != 0) << "key set of version " << *v;
  for (const std::string& key : keys) {
    EXPECT_EQ(modeOf(data + key), payloadMode(*v)) << key;
    const std::optional<std::string> visible = readFile(dir + "/" + key);
    if (key == "extra" && !visible.has_value()) {
      continue;
    }
    EXPECT_EQ(visible, payloadContent(*v, key)) << key << " of version " << *v;
  }
  if (*v % 2 == 0) {
    EXPECT_FALSE(readFile(dir + "/extra").has_value());
  }
  return *v;
}

std::string crashTestBase() {
  // kill -9 atomicity is a property of the VFS, not of the disk, so tmpfs gives many more
  // rotations per trial (fsync costs nothing there); fsync paths are covered by the tests above.
  if (::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return ::testing::TempDir();
}

TEST(AtomicDirWriterCrashTest, KillNineDuringRotationLeavesOldOrNew) {
  TempDir tmp(crashTestBase());
  const std::string dir = tmp.sub("t");
  const AtomicDirWriter writer;
  ASSERT_TRUE(writer.write(dir, payload(0)).ok());

  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  std::uniform_int_distribution<int> delay_us(0, 3000);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int trials = 0;
  int with_leftovers = 0;
  int rotated = 0;
  int64_t last_written = 0;
  for (int trial = 1; trial <= 200 && std::chrono::steady_clock::now() < deadline; ++trial) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const std::string start = std::to_string(int64_t{trial} * 1000000);
    const std::string fd_arg = std::to_string(ready[1]);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(ready[0]);
      ::execl(ATOMIC_WRITER_CRASH_HELPER, ATOMIC_WRITER_CRASH_HELPER, dir.c_str(), start.c_str(),
              fd_arg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(ready[1]);
    char byte = 0;
    ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "helper did not start rotating";
    ::close(ready[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "helper exited by itself: " << status;
    ++trials;

    const int64_t seen = expectOneCompleteVersion(dir, last_written);
    if (::testing::Test::HasFailure()) {
      FAIL() << "trial " << trial;
    }
    rotated += seen > int64_t{trial} * 1000000 ? 1 : 0;
    const bool leftovers = versionDirs(dir).size() != 1 ||
                           fs::exists(fs::symlink_status(dir + "/..data_tmp")) ||
                           visibleNames(dir) != topNames(payloadKeys(seen));
    with_leftovers += leftovers ? 1 : 0;

    // The next write succeeds and cleans up whatever the crash left.
    last_written = int64_t{trial} * 1000000 + 500001;
    auto result = writer.write(dir, payload(last_written));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_THAT(versionDirs(dir), ElementsAre(result->version_dir));
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir + "/..data_tmp")));
    EXPECT_EQ(visibleNames(dir), topNames(payloadKeys(last_written)));
    EXPECT_EQ(expectOneCompleteVersion(dir, last_written), last_written);
  }
  std::cout << "crash trials=" << trials << " killed after >1 rotation=" << rotated
            << " left crash leftovers=" << with_leftovers << "\n";
  EXPECT_GE(trials, 50);
}

}  // namespace
}  // namespace secretsync::sync
