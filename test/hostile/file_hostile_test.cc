// Hostile keys, modes and target directories for the file sink (AtomicDirWriter, what
// `secretsync sync` writes through), one table row each. Every row starts from a target holding
// an earlier version and checks that the write fails with an error naming the key or path and
// the problem, that no value is in it or in the log, that the earlier version is still served
// byte for byte, that nothing was written outside the target, and that the next good write works.

#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pkg/sync/atomic_dir_writer.h"
#include "test/hostile/hostile_table.h"

namespace secretsync::hostile {
namespace {

namespace fs = std::filesystem;

constexpr char kOldValue[] = "SENTINEL-FILE-OLD";
constexpr char kNewValue[] = "SENTINEL-FILE-NEW";
constexpr char kOutsideValue[] = "outside, must stay";

class FileHostileTest;

// One hostile write: `prepare` may plant traps in the target before `files` is written.
struct FileRow {
  std::string name;
  std::function<sync::FileMap()> files;
  Expected expected;
  std::function<void(FileHostileTest&)> prepare = nullptr;
};
// ctest names each case by its row; the row prints as its name only.
void PrintTo(const FileRow& row, std::ostream* os) { *os << row.name; }

sync::FileMap one(const std::string& key, mode_t mode = 0600) {
  sync::FileMap files;
  files[key] = {common::SecretString(kNewValue), mode};
  return files;
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class FileHostileTest : public ::testing::TestWithParam<FileRow> {
 public:
  void SetUp() override {
    char dir_template[] = "/tmp/secretsync-hostile-files-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    root_ = dir_template;
    target_ = root_ + "/ns/name";
    outside_ = root_ + "/outside";
    fs::create_directories(outside_);
    std::ofstream(outside_ + "/password") << kOutsideValue;
    sync::FileMap old;
    old["password"] = {common::SecretString(kOldValue), 0600};
    auto written = writer_.write(target_, old);
    ASSERT_TRUE(written.ok()) << written.status();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string root_;
  std::string target_;
  std::string outside_;
  sync::AtomicDirWriter writer_;
};

std::vector<FileRow> rows() {
  using absl::StatusCode;
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  return {
      {"key_parent_traversal", [] { return one("../../outside/password"); }, {kInvalid, {".."}}},
      {"key_absolute", [] { return one("/etc/passwd"); }, {kInvalid, {"/etc/passwd"}}},
      {"key_inner_traversal", [] { return one("a/../../b"); }, {kInvalid, {"a/../../b"}}},
      {"key_dotdot", [] { return one(".."); }, {kInvalid, {"\"..\""}}},
      {"key_nul_byte", [] { return one(std::string("pass\0word", 9)); }, {kInvalid, {"NUL"}}},
      {"key_reserved_data_link", [] { return one("..data"); }, {kInvalid, {"..data"}}},
      {"key_empty", [] { return one(""); }, {kInvalid, {"key"}}},
      {"key_component_256_bytes", [] { return one(std::string(256, 'k')); }, {kInvalid, {"255"}}},
      {"key_file_and_directory",
       [] {
         sync::FileMap files = one("conf");
         files["conf/app.yaml"] = {common::SecretString(kNewValue), 0600};
         return files;
       },
       {kInvalid, {"conf"}}},
      {"mode_setuid", [] { return one("password", 04755); }, {kInvalid, {"password", "mode"}}},
      {"mode_beyond_permission_bits",
       [] { return one("password", 0177777); },
       {kInvalid, {"password", "mode"}}},
      {"visible_name_is_a_foreign_symlink",
       [] { return one("token"); },
       {StatusCode::kFailedPrecondition, {"token"}},
       [](FileHostileTest& t) {
         fs::create_symlink(t.outside_ + "/password", t.target_ + "/token");
       }},
      // Not an error: a `..data` that is not one of our version directories is never followed,
      // read or deleted through; the write replaces the link and the outside stays untouched.
      {"data_link_replaced_by_a_symlink_outside",
       [] { return one("password"); },
       {StatusCode::kOk, {}},
       [](FileHostileTest& t) {
         // The attacker swaps ..data for a link to a directory of theirs.
         fs::remove(t.target_ + "/..data");
         fs::create_directory_symlink(t.outside_, t.target_ + "/..data");
       }},
  };
}

// Validate that each hostile write is refused by name, touching nothing: the earlier version and
// the outside file stay as they were, and the next good write succeeds.
TEST_P(FileHostileTest, NamedErrorNoLeakOldVersionKept) {
  const FileRow& row = GetParam();
  const bool trapped = row.prepare != nullptr;
  if (trapped) row.prepare(*this);
  LogCapture log;
  const absl::StatusOr<sync::AtomicWriteResult> result = writer_.write(target_, row.files());
  expectNamedError(result.status(), row.expected, log.text(), {kOldValue, kNewValue});

  EXPECT_EQ(readAll(outside_ + "/password"), kOutsideValue);
  EXPECT_EQ(std::distance(fs::directory_iterator(outside_), fs::directory_iterator()), 1);
  if (result.ok()) {
    // Whatever was planted, the new content is inside the target, under a version of ours.
    EXPECT_EQ(readAll(target_ + "/password"), kNewValue);
    const std::string resolved = fs::canonical(target_ + "/password").string();
    EXPECT_EQ(resolved.rfind(fs::canonical(target_).string() + "/..", 0), 0u) << resolved;
  }
  if (!trapped) {
    EXPECT_EQ(readAll(target_ + "/password"), kOldValue);
    auto good = writer_.write(target_, one("password"));
    ASSERT_TRUE(good.ok()) << good.status();
    EXPECT_TRUE(good->changed);
    EXPECT_EQ(readAll(target_ + "/password"), kNewValue);
    struct stat st {};
    ASSERT_EQ(::lstat((target_ + "/..data/password").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, FileHostileTest, ::testing::ValuesIn(rows()), rowName<FileRow>);

}  // namespace
}  // namespace secretsync::hostile
