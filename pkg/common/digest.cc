#include "pkg/common/digest.h"

#include "absl/strings/escaping.h"
#include "openssl/evp.h"

namespace secretsync::common {

std::string hexDigest(DigestAlgorithm algorithm, std::string_view data) {
  const EVP_MD* md = algorithm == DigestAlgorithm::kMd5      ? EVP_md5()
                     : algorithm == DigestAlgorithm::kSha224 ? EVP_sha224()
                                                             : EVP_sha256();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest fails only on allocation failure; an empty result is then visible to callers.
  if (EVP_Digest(data.data(), data.size(), digest, &length, md, nullptr) != 1) return "";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace secretsync::common
