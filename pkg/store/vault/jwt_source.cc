#include "pkg/store/vault/jwt_source.h"

#include <array>
#include <atomic>
#include <random>
#include <utility>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"

namespace secretsync::store::vault {
namespace {

using common::av;

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

FileJwtSource::FileJwtSource(std::string path) : file_(std::move(path), "JWT") {}

std::string FileJwtSource::describe() const { return absl::StrCat("file:", file_.path()); }

absl::StatusOr<common::SecretString> FileJwtSource::jwt() { return file_.read(); }

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
