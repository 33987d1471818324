#include "pkg/common/token_file.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/secure_wipe.h"

namespace secretsync::common {
namespace {

// A service-account token is a few KiB; anything far larger is not a token file.
constexpr int64_t kMaxTokenFileBytes = 1 << 20;

// Owns a file descriptor.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string errnoText(int error) { return std::strerror(error); }

}  // namespace

TokenFile::TokenFile(std::string path, std::string label)
    : path_(std::move(path)), label_(std::move(label)) {}

absl::StatusOr<SecretString> TokenFile::read() {
  const auto failure = [](auto&&... parts) {
    return absl::FailedPreconditionError(absl::StrCat(parts...));
  };
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) {
    const int error = errno;
    return failure("cannot stat ", label_, " file ", path_, ": ", errnoText(error));
  }
  const auto stampOf = [](const struct stat& st) {
    return FileStamp{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                     static_cast<int64_t>(st.st_size),
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                         static_cast<int64_t>(st.st_mtim.tv_nsec)};
  };

  std::lock_guard lock(mu_);
  if (stamp_.has_value() && *stamp_ == stampOf(info)) {
    return cached_;
  }

  // Changed (or first call): read through one descriptor and take the stamp from it, so the stamp
  // cached always belongs to the content cached even if the file is swapped meanwhile.
  ScopedFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    return failure("cannot open ", label_, " file ", path_, ": ", errnoText(error));
  }
  struct stat opened {};
  if (::fstat(fd.get(), &opened) != 0) {
    const int error = errno;
    return failure("cannot stat ", label_, " file ", path_, ": ", errnoText(error));
  }
  if (!S_ISREG(opened.st_mode)) {
    return failure(label_, " file ", path_, " is not a file");
  }
  if (opened.st_size > kMaxTokenFileBytes) {
    return failure(label_, " file ", path_, " is larger than ", kMaxTokenFileBytes, " bytes");
  }

  // The file is a credential: sized up front so growing never frees a partial copy, and both
  // buffers zeroed on every way out.
  std::string content;
  content.reserve(static_cast<size_t>(std::max<off_t>(opened.st_size, 0)) + 1);
  std::array<char, 4096> buffer{};
  absl::Cleanup wipe_buffers = [&content, &buffer] {
    wipeString(content);
    secureWipe(buffer.data(), buffer.size());
  };
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) {
        continue;
      }
      return failure("cannot read ", label_, " file ", path_, ": ", errnoText(error));
    }
    if (n == 0) {
      break;
    }
    content.append(buffer.data(), static_cast<size_t>(n));
    if (static_cast<int64_t>(content.size()) > kMaxTokenFileBytes) {
      return failure(label_, " file ", path_, " is larger than ", kMaxTokenFileBytes, " bytes");
    }
  }
  const absl::string_view trimmed = absl::StripAsciiWhitespace(content);
  if (trimmed.empty()) {
    return failure(label_, " file ", path_, " is empty");
  }
  cached_ = SecretString(std::string(trimmed));
  stamp_ = stampOf(opened);
  return cached_;
}

}  // namespace secretsync::common
