#pragma once

#include <string>
#include <string_view>

namespace secretsync::common {

enum class DigestAlgorithm { kMd5, kSha224, kSha256 };

// The lower-case hex digest of `data` (OpenSSL's one-shot EVP_Digest: no handle to free).
// MD5 is only for compatibility with hashes other tools wrote (ESO's data-hash), never for
// security.
std::string hexDigest(DigestAlgorithm algorithm, std::string_view data);

}  // namespace secretsync::common
