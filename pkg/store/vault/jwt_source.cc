#include "pkg/store/vault/jwt_source.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/secure_wipe.h"

namespace secretsync::store::vault {
namespace {

// A service-account JWT is a few KiB; anything far larger is not a token file.
constexpr int64_t kMaxJwtFileBytes = 1 << 20;

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

using common::av;

std::string errnoText(int error) { return std::strerror(error); }

// The per-process HMAC key: 32 random bytes drawn once.
const std::array<unsigned char, 32>& processKey() {
  static const std::array<unsigned char, 32> key = [] {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      // OpenSSL's generator failing is very unlikely; the OS one is as good for this purpose.
      std::random_device device;
      for (unsigned char& byte : bytes) {
        byte = static_cast<unsigned char>(device());
      }
    }
    return bytes;
  }();
  return key;
}

absl::Status emptyJwtError(std::string_view describe) {
  return absl::FailedPreconditionError(
      absl::StrCat("JWT source ", av(describe), " gave an empty JWT"));
}

}  // namespace

std::string keyedFingerprint(std::string_view secret) {
  const auto& key = processKey();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  // The one-shot HMAC() keeps no handle that would need freeing.
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest.data(),
           &digest_len) == nullptr ||
      digest_len < 8) {
    // Never fall back to anything derived from the secret without the key, nor to a constant
    // (two credentials would then share cache entries): a value unique to this call keeps
    // identities apart at the price of stability, in a case that should never happen.
    static std::atomic<uint64_t> unhashable{0};
    return absl::StrCat("unhashable-", unhashable.fetch_add(1));
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest.data()), 8));
}

FileJwtSource::FileJwtSource(std::string path) : path_(std::move(path)) {}

std::string FileJwtSource::describe() const { return absl::StrCat("file:", path_); }

absl::StatusOr<common::SecretString> FileJwtSource::jwt() {
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) {
    const int error = errno;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat JWT file ", path_, ": ", errnoText(error)));
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
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open JWT file ", path_, ": ", errnoText(error)));
  }
  struct stat opened {};
  if (::fstat(fd.get(), &opened) != 0) {
    const int error = errno;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat JWT file ", path_, ": ", errnoText(error)));
  }
  if (!S_ISREG(opened.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("JWT file ", path_, " is not a file"));
  }
  if (opened.st_size > kMaxJwtFileBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("JWT file ", path_, " is larger than ", kMaxJwtFileBytes, " bytes"));
  }

  // The file is a credential: sized up front so growing never frees a partial copy, and both
  // buffers zeroed on every way out.
  std::string content;
  content.reserve(static_cast<size_t>(std::max<off_t>(opened.st_size, 0)) + 1);
  std::array<char, 4096> buffer{};
  absl::Cleanup wipe_buffers = [&content, &buffer] {
    common::wipeString(content);
    common::secureWipe(buffer.data(), buffer.size());
  };
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) {
        continue;
      }
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read JWT file ", path_, ": ", errnoText(error)));
    }
    if (n == 0) {
      break;
    }
    content.append(buffer.data(), static_cast<size_t>(n));
    if (static_cast<int64_t>(content.size()) > kMaxJwtFileBytes) {
      return absl::FailedPreconditionError(
          absl::StrCat("JWT file ", path_, " is larger than ", kMaxJwtFileBytes, " bytes"));
    }
  }
  const absl::string_view trimmed = absl::StripAsciiWhitespace(content);
  if (trimmed.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("JWT file ", path_, " is empty"));
  }
  cached_ = common::SecretString(std::string(trimmed));
  stamp_ = stampOf(opened);
  return cached_;
}

StaticJwtSource::StaticJwtSource(common::SecretString jwt, std::string label)
    : jwt_(std::move(jwt)),
      describe_(label.empty() ? absl::StrCat("static:", keyedFingerprint(jwt_.reveal()))
                              : absl::StrCat("static:", label)) {}

absl::StatusOr<common::SecretString> StaticJwtSource::jwt() {
  if (jwt_.empty()) {
    return emptyJwtError(describe_);
  }
  return jwt_;
}

std::string StaticJwtSource::describe() const { return describe_; }

CallbackJwtSource::CallbackJwtSource(Callback callback, std::string describe)
    : callback_(std::move(callback)), describe_(std::move(describe)) {}

absl::StatusOr<common::SecretString> CallbackJwtSource::jwt() {
  if (!callback_) {
    return absl::FailedPreconditionError(
        absl::StrCat("JWT source ", describe_, " has no callback"));
  }
  absl::StatusOr<common::SecretString> result = callback_();
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat("JWT source ", describe_, ": ", result.status().message()));
  }
  if (result->empty()) {
    return emptyJwtError(describe_);
  }
  return result;
}

std::string CallbackJwtSource::describe() const { return describe_; }

JwtSourcePtr makeFileJwtSource(std::string path) {
  return std::make_unique<FileJwtSource>(std::move(path));
}

JwtSourcePtr makeStaticJwtSource(common::SecretString jwt, std::string label) {
  return std::make_unique<StaticJwtSource>(std::move(jwt), std::move(label));
}

JwtSourcePtr makeCallbackJwtSource(CallbackJwtSource::Callback callback, std::string describe) {
  return std::make_unique<CallbackJwtSource>(std::move(callback), std::move(describe));
}

}  // namespace secretsync::store::vault
