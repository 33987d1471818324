#include "pkg/sync/atomic_dir_writer.h"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <string_view>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/log.h"
#include "pkg/common/secure_wipe.h"
#include "pkg/common/status_macros.h"

namespace secretsync::sync {
namespace {

namespace fs = std::filesystem;
using common::av;

constexpr std::string_view kDataLink = "..data";
constexpr std::string_view kDataTmp = "..data_tmp";
constexpr std::string_view kLockFile = "..lock";
constexpr std::string_view kLinkPrefix = "..data/";
constexpr size_t kMaxComponentLen = 255;
constexpr size_t kMaxKeyLen = 1024;
constexpr mode_t kPermBits = 0777;

// Owns one file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Closes now and reports the error: close(2) is where some file systems report a failed write.
  int close() {
    if (fd_ < 0) {
      return 0;
    }
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? 0 : errno;
  }

 private:
  void reset() {
    if (fd_ >= 0) {
      ::close(std::exchange(fd_, -1));
    }
  }

  int fd_ = -1;
};

// Owns a DIR* stream; closes it on destruction.
class DirStream {
 public:
  explicit DirStream(DIR* dir) : dir_(dir) {}
  DirStream(const DirStream&) = delete;
  DirStream& operator=(const DirStream&) = delete;
  ~DirStream() {
    if (dir_ != nullptr) {
      ::closedir(dir_);
    }
  }
  DIR* get() const { return dir_; }

 private:
  DIR* dir_;
};

// Errors name the operation and the path; never any content.
absl::Status errnoStatus(int err, std::string_view op, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(av(op), " ", path));
}

std::string joinPath(const std::string& dir, std::string_view name) {
  return absl::StrCat(dir, "/", av(name));
}

std::string topComponent(const std::string& key) { return key.substr(0, key.find('/')); }

// "..2024_05_01_12_00_00.123456789": what this writer makes; also accepts the kubelet's
// "..2006_01_02_15_04_05.<random digits>" so a directory taken over from it is cleaned up too.
bool isVersionDirName(std::string_view name) {
  constexpr std::string_view kShape = "..dddd_dd_dd_dd_dd_dd.";
  if (name.size() <= kShape.size()) {
    return false;
  }
  for (size_t i = 0; i < kShape.size(); ++i) {
    const char want = kShape[i];
    const char got = name[i];
    if (want == 'd' ? (got < '0' || got > '9') : got != want) {
      return false;
    }
  }
  for (size_t i = kShape.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') {
      return false;
    }
  }
  return true;
}

std::string versionDirName(common::SystemTime now, int64_t bump) {
  const auto since_epoch = now.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count();
  int64_t whole = secs.count();
  nanos += bump;
  whole += nanos / 1000000000;
  nanos %= 1000000000;
  const time_t t = static_cast<time_t>(whole);
  struct tm tm_utc {};
  gmtime_r(&t, &tm_utc);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "..%04d_%02d_%02d_%02d_%02d_%02d.%09lld", tm_utc.tm_year + 1900,
                tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                static_cast<long long>(nanos));
  return buf;
}

// 0700, widened only as far as the files' own modes ask; see the header.
mode_t dirModeFor(const FileMap& files) {
  mode_t mode = 0700;
  for (const auto& [key, file] : files) {
    if ((file.mode & 0070) != 0) {
      mode |= 0050;
    }
    if ((file.mode & 0007) != 0) {
      mode |= 0005;
    }
  }
  return mode;
}

absl::Status fsyncDir(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return errnoStatus(errno, "open directory", path);
  }
  if (::fsync(fd.get()) != 0) {
    return errnoStatus(errno, "fsync directory", path);
  }
  return absl::OkStatus();
}

// mkdir -p; only the directories it creates get `mode`.
absl::Status makeDirs(const std::string& path, mode_t mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("not a directory: ", path));
    }
    return absl::OkStatus();
  }
  if (errno != ENOENT) {
    return errnoStatus(errno, "stat", path);
  }
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(makeDirs(path.substr(0, slash), mode));
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return errnoStatus(errno, "mkdir", path);
  }
  if (::chmod(path.c_str(), mode) != 0) {
    return errnoStatus(errno, "chmod", path);
  }
  return absl::OkStatus();
}

absl::Status removeTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);  // Does not follow symlinks.
  if (ec) {
    return errnoStatus(ec.value(), "remove", path);
  }
  return absl::OkStatus();
}

absl::Status unlinkIfExists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return errnoStatus(errno, "unlink", path);
  }
  return absl::OkStatus();
}

std::optional<std::string> readLink(const std::string& path) {
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  if (n < 0 || static_cast<size_t>(n) >= sizeof(buf)) {
    return std::nullopt;
  }
  return std::string(buf, static_cast<size_t>(n));
}

// The version directory `..data` points at, when it is one of ours and exists.
std::optional<std::string> currentVersion(const std::string& dir) {
  std::optional<std::string> target = readLink(joinPath(dir, kDataLink));
  if (!target.has_value() || !isVersionDirName(*target)) {
    return std::nullopt;
  }
  struct stat st {};
  if (::lstat(joinPath(dir, *target).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return std::nullopt;
  }
  return target;
}

// Lists the names in `dir` except "." and "..".
absl::StatusOr<std::vector<std::string>> listDir(const std::string& dir) {
  DirStream stream(::opendir(dir.c_str()));
  if (stream.get() == nullptr) {
    return errnoStatus(errno, "open directory", dir);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(stream.get())) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  if (errno != 0) {
    return errnoStatus(errno, "read directory", dir);
  }
  return names;
}

bool isOurVisibleLink(const std::string& dir, const std::string& name) {
  const std::optional<std::string> target = readLink(joinPath(dir, name));
  return target.has_value() && *target == absl::StrCat(av(kLinkPrefix), name);
}

// Reads a whole regular file without following a symlink. False on any error.
bool readWhole(const std::string& path, size_t expected_size, std::string* out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    return false;
  }
  // `out` may hold the previous file's bytes; growing it could free them as they are.
  common::wipeString(*out);
  out->assign(expected_size, '\0');
  size_t done = 0;
  while (done < expected_size) {
    const ssize_t n = ::read(fd.get(), out->data() + done, expected_size - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<size_t>(n);
  }
  char extra;
  return ::read(fd.get(), &extra, 1) == 0;
}

bool ownershipMatches(const struct stat& st, const AtomicWriteOptions& options) {
  return (!options.owner.has_value() || st.st_uid == *options.owner) &&
         (!options.group.has_value() || st.st_gid == *options.group);
}

// True when the version directory holds exactly `files`: same key set, bytes, modes, directory
// modes and, when asked for, ownership. Anything unexpected counts as a difference, so the worst
// a surprise can cause is one extra rotation.
bool payloadEquals(const std::string& version_path, const FileMap& files, mode_t dir_mode,
                   const AtomicWriteOptions& options) {
  struct stat st {};
  if (::lstat(version_path.c_str(), &st) != 0 || (st.st_mode & 07777) != dir_mode ||
      !ownershipMatches(st, options)) {
    return false;
  }
  std::error_code ec;
  fs::recursive_directory_iterator it(version_path, ec);
  if (ec) {
    return false;
  }
  size_t regular_files = 0;
  // Holds each current file's bytes in turn (secrets): zeroed before it is freed.
  std::string content;
  absl::Cleanup wipe_content = [&content] { common::wipeString(content); };
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      return false;
    }
    const std::string path = it->path().string();
    if (::lstat(path.c_str(), &st) != 0 || !ownershipMatches(st, options)) {
      return false;
    }
    if (S_ISDIR(st.st_mode)) {
      if ((st.st_mode & 07777) != dir_mode) {
        return false;
      }
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      return false;
    }
    const std::string key = it->path().lexically_relative(version_path).generic_string();
    const auto found = files.find(key);
    if (found == files.end() || (st.st_mode & 07777) != found->second.mode ||
        static_cast<size_t>(st.st_size) != found->second.bytes.reveal().size()) {
      return false;
    }
    if (!readWhole(path, found->second.bytes.reveal().size(), &content) ||
        content != found->second.bytes.reveal()) {
      return false;
    }
    ++regular_files;
  }
  return !ec && regular_files == files.size();
}

absl::Status applyOwnership(int fd, const std::string& path, const AtomicWriteOptions& options) {
  if (!options.owner.has_value() && !options.group.has_value()) {
    return absl::OkStatus();
  }
  const uid_t uid = options.owner.has_value() ? *options.owner : static_cast<uid_t>(-1);
  const gid_t gid = options.group.has_value() ? *options.group : static_cast<gid_t>(-1);
  if (::fchown(fd, uid, gid) != 0) {
    return errnoStatus(errno, "chown", path);
  }
  return absl::OkStatus();
}

absl::Status writeAll(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return errnoStatus(errno, "write", path);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Writes every file of a new, not yet visible, version directory and makes it durable.
absl::Status writeVersion(const std::string& version_path, const FileMap& files, mode_t dir_mode,
                          const AtomicWriteOptions& options) {
  Fd vdir(::open(version_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!vdir.valid()) {
    return errnoStatus(errno, "open directory", version_path);
  }
  // Subdirectories of nested keys, parents before children (a std::set of prefixes sorts so).
  std::set<std::string> subdirs;
  for (const auto& [key, file] : files) {
    for (size_t slash = key.find('/'); slash != std::string::npos;
         slash = key.find('/', slash + 1)) {
      const std::string sub = key.substr(0, slash);
      if (subdirs.insert(sub).second && ::mkdirat(vdir.get(), sub.c_str(), 0700) != 0) {
        return errnoStatus(errno, "mkdir", joinPath(version_path, sub));
      }
    }
  }
  for (const auto& [key, file] : files) {
    const std::string path = joinPath(version_path, key);
    Fd fd(::openat(vdir.get(), key.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                   0600));
    if (!fd.valid()) {
      return errnoStatus(errno, "create", path);
    }
    RETURN_IF_ERROR(writeAll(fd.get(), file.bytes.reveal(), path));
    RETURN_IF_ERROR(applyOwnership(fd.get(), path, options));
    // After chown: chown may clear setgid-like bits, and the mode must not depend on umask.
    if (::fchmod(fd.get(), file.mode) != 0) {
      return errnoStatus(errno, "chmod", path);
    }
    if (::fsync(fd.get()) != 0) {
      return errnoStatus(errno, "fsync", path);
    }
    if (const int err = fd.close(); err != 0) {
      return errnoStatus(err, "close", path);
    }
  }
  // Children before parents, then the version directory itself.
  for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) {
    const std::string path = joinPath(version_path, *it);
    Fd fd(::openat(vdir.get(), it->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
      return errnoStatus(errno, "open directory", path);
    }
    RETURN_IF_ERROR(applyOwnership(fd.get(), path, options));
    if (::fchmod(fd.get(), dir_mode) != 0) {
      return errnoStatus(errno, "chmod", path);
    }
    if (::fsync(fd.get()) != 0) {
      return errnoStatus(errno, "fsync directory", path);
    }
  }
  RETURN_IF_ERROR(applyOwnership(vdir.get(), version_path, options));
  if (::fchmod(vdir.get(), dir_mode) != 0) {
    return errnoStatus(errno, "chmod", version_path);
  }
  if (::fsync(vdir.get()) != 0) {
    return errnoStatus(errno, "fsync directory", version_path);
  }
  return absl::OkStatus();
}

// Creates a missing visible symlink per top-level name and removes ours that are no longer wanted.
// Entries we did not create are never touched.
absl::Status syncVisibleLinks(const std::string& dir, const std::set<std::string>& tops) {
  for (const std::string& top : tops) {
    const std::string path = joinPath(dir, top);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      continue;  // Ours: checked before anything was written.
    }
    if (::symlink(absl::StrCat(av(kLinkPrefix), top).c_str(), path.c_str()) != 0) {
      return errnoStatus(errno, "symlink", path);
    }
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> names, listDir(dir));
  for (const std::string& name : names) {
    if (name.starts_with("..") || tops.contains(name) || !isOurVisibleLink(dir, name)) {
      continue;
    }
    RETURN_IF_ERROR(unlinkIfExists(joinPath(dir, name)));
  }
  return absl::OkStatus();
}

// Removes `..data_tmp` and every version directory but `keep`: what a crash leaves behind.
absl::Status removeLeftovers(const std::string& dir, const std::optional<std::string>& keep) {
  RETURN_IF_ERROR(unlinkIfExists(joinPath(dir, kDataTmp)));
  ASSIGN_OR_RETURN(const std::vector<std::string> names, listDir(dir));
  for (const std::string& name : names) {
    if (!isVersionDirName(name) || (keep.has_value() && name == *keep)) {
      continue;
    }
    struct stat st {};
    const std::string path = joinPath(dir, name);
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      RETURN_IF_ERROR(removeTree(path));
    }
  }
  return absl::OkStatus();
}

// Takes the per-target lock, blocking until another writer is done.
absl::StatusOr<Fd> lockTarget(const std::string& dir) {
  const std::string path = joinPath(dir, kLockFile);
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    return errnoStatus(errno, "open lock file", path);
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return errnoStatus(errno, "flock", path);
    }
  }
  return fd;
}

absl::Status validateFiles(const FileMap& files) {
  for (const auto& [key, file] : files) {
    RETURN_IF_ERROR(AtomicDirWriter::validateKey(key));
    if ((file.mode & ~kPermBits) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("key \"", key, "\": mode must be permission bits only (at most 0777)"));
    }
    for (size_t slash = key.find('/'); slash != std::string::npos;
         slash = key.find('/', slash + 1)) {
      if (files.contains(key.substr(0, slash))) {
        return absl::InvalidArgumentError(
            absl::StrCat("key \"", key, "\": \"", key.substr(0, slash),
                         "\" is also a key, so it cannot be a directory"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

AtomicDirWriter::AtomicDirWriter(AtomicWriteOptions options) : options_(options) {}

absl::Status AtomicDirWriter::validateKey(const std::string& key) {
  // Keys come from manifests, not secrets, so naming them in errors is fine.
  const auto bad = [&key](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid file key \"", key, "\": ", av(why)));
  };
  if (key.empty()) {
    return bad("empty");
  }
  if (key.size() > kMaxKeyLen) {
    return bad(absl::StrCat("longer than ", kMaxKeyLen, " bytes"));
  }
  if (key.find('\0') != std::string::npos) {
    return bad("contains a NUL byte");
  }
  if (key.front() == '/') {
    return bad("must be relative");
  }
  size_t start = 0;
  while (true) {
    const size_t slash = key.find('/', start);
    const std::string_view part = std::string_view(key).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty()) {
      return bad("empty path component");
    }
    if (part == "." || part == "..") {
      return bad("'.' and '..' components are not allowed");
    }
    if (part.starts_with("..")) {
      return bad("components starting with '..' are reserved for the writer's own entries");
    }
    if (part.size() > kMaxComponentLen) {
      return bad(absl::StrCat("a path component is longer than ", kMaxComponentLen, " bytes"));
    }
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<AtomicWriteResult> AtomicDirWriter::write(const std::string& dir,
                                                         const FileMap& files) const {
  RETURN_IF_ERROR(validateFiles(files));
  const mode_t dir_mode = dirModeFor(files);
  RETURN_IF_ERROR(makeDirs(dir, dir_mode));
  ASSIGN_OR_RETURN(Fd lock, lockTarget(dir));

  // Refuse before writing anything when a name we need belongs to someone else.
  std::set<std::string> tops;
  for (const auto& [key, file] : files) {
    tops.insert(topComponent(key));
  }
  struct stat st {};
  const std::string data_link = joinPath(dir, kDataLink);
  if (::lstat(data_link.c_str(), &st) == 0 && !S_ISLNK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        data_link, " exists and is not a symlink; not a directory written by secretsync"));
  }
  for (const std::string& top : tops) {
    const std::string path = joinPath(dir, top);
    if (::lstat(path.c_str(), &st) == 0 && !isOurVisibleLink(dir, top)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " exists and is not a symlink into ..data; refusing to replace it"));
    }
  }

  const std::optional<std::string> current = currentVersion(dir);
  RETURN_IF_ERROR(removeLeftovers(dir, current));
  if (::stat(dir.c_str(), &st) != 0) {
    return errnoStatus(errno, "stat", dir);
  }
  if ((st.st_mode & 07777) != dir_mode && ::chmod(dir.c_str(), dir_mode) != 0) {
    return errnoStatus(errno, "chmod", dir);
  }
  if (!ownershipMatches(st, options_)) {
    Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd.valid()) {
      return errnoStatus(errno, "open directory", dir);
    }
    RETURN_IF_ERROR(applyOwnership(dir_fd.get(), dir, options_));
  }

  if (current.has_value() && payloadEquals(joinPath(dir, *current), files, dir_mode, options_)) {
    // Nothing to write. Visible links are only touched if a crash left them wrong.
    RETURN_IF_ERROR(syncVisibleLinks(dir, tops));
    return AtomicWriteResult{.changed = false, .version_dir = *current};
  }

  // A new version directory; a name clash (same clock reading) moves on by a nanosecond.
  const common::SystemTime now =
      options_.clock != nullptr ? options_.clock->now() : common::realClock().now();
  std::string version;
  std::string version_path;
  for (int64_t bump = 0;; ++bump) {
    version = versionDirName(now, bump);
    version_path = joinPath(dir, version);
    if (::mkdir(version_path.c_str(), 0700) == 0) {
      break;
    }
    if (errno != EEXIST || bump >= 1000) {
      return errnoStatus(errno, "mkdir", version_path);
    }
  }
  // Until `..data` points at the new version, any failure removes it and leaves the old one.
  absl::Cleanup discard_new = [&version_path, &dir] {
    (void)::unlink(joinPath(dir, kDataTmp).c_str());
    if (const absl::Status s = removeTree(version_path); !s.ok()) {
      common::log::warn("could not remove an unfinished version directory",
                        {{"path", version_path}, {"error", s}});
    }
  };
  RETURN_IF_ERROR(writeVersion(version_path, files, dir_mode, options_));
  // The version directory's entry must be durable before anything points at it.
  RETURN_IF_ERROR(fsyncDir(dir));
  const std::string data_tmp = joinPath(dir, kDataTmp);
  if (::symlink(version.c_str(), data_tmp.c_str()) != 0) {
    return errnoStatus(errno, "symlink", data_tmp);
  }
  if (::rename(data_tmp.c_str(), data_link.c_str()) != 0) {
    return errnoStatus(errno, "rename to ..data in", dir);
  }
  std::move(discard_new).Cancel();

  // The new version is visible. What follows only finishes the job; anything it fails to do is
  // repaired by the next write.
  RETURN_IF_ERROR(fsyncDir(dir));
  RETURN_IF_ERROR(syncVisibleLinks(dir, tops));
  if (current.has_value()) {
    if (const absl::Status s = removeTree(joinPath(dir, *current)); !s.ok()) {
      common::log::warn("could not remove the previous version directory; the next write retries",
                        {{"path", joinPath(dir, *current)}, {"error", s}});
    }
  }
  AtomicWriteResult result{.changed = true, .version_dir = version};
  result.files_written.reserve(files.size());
  for (const auto& [key, file] : files) {
    result.files_written.push_back(key);
  }
  return result;
}

absl::Status AtomicDirWriter::remove(const std::string& dir) const {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return errno == ENOENT ? absl::OkStatus() : errnoStatus(errno, "stat", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("not a directory: ", dir));
  }
  ASSIGN_OR_RETURN(Fd lock, lockTarget(dir));
  ASSIGN_OR_RETURN(const std::vector<std::string> names, listDir(dir));
  // Visible names first: a reader then sees a file go away, never a file of a half-gone version.
  for (const std::string& name : names) {
    if (!name.starts_with("..") && isOurVisibleLink(dir, name)) {
      RETURN_IF_ERROR(unlinkIfExists(joinPath(dir, name)));
    }
  }
  RETURN_IF_ERROR(unlinkIfExists(joinPath(dir, kDataLink)));
  RETURN_IF_ERROR(removeLeftovers(dir, std::nullopt));
  RETURN_IF_ERROR(unlinkIfExists(joinPath(dir, kLockFile)));
  if (::rmdir(dir.c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) {
      common::log::info("kept the target directory: it holds entries secretsync did not write",
                        {{"path", dir}});
      return absl::OkStatus();
    }
    return errnoStatus(errno, "rmdir", dir);
  }
  return absl::OkStatus();
}

}  // namespace secretsync::sync
