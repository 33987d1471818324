#include "test/support/vault_double/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/status/status.h"

namespace secretsync::test::vault {
namespace {

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string hmacSha256(const std::string& key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &len) == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kB64Url[(v >> 18) & 63]);
    out.push_back(kB64Url[(v >> 12) & 63]);
    out.push_back(kB64Url[(v >> 6) & 63]);
    out.push_back(kB64Url[v & 63]);
    i += 3;
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(kB64Url[(v >> 18) & 63]);
    out.push_back(kB64Url[(v >> 12) & 63]);
  } else if (i + 2 == in.size()) {
    uint32_t v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(kB64Url[(v >> 18) & 63]);
    out.push_back(kB64Url[(v >> 12) & 63]);
    out.push_back(kB64Url[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view in) {
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-' || c == '+') {
      v = 62;
    } else if (c == '_' || c == '/') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) {
    return std::nullopt;  // a lone trailing character cannot encode a byte
  }
  return out;
}

std::string signHs256Jwt(const std::string& key, const nlohmann::json& claims) {
  std::string header = base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  std::string payload =
      base64UrlEncode(claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::string input = header + "." + payload;
  return input + "." + base64UrlEncode(hmacSha256(key, input));
}

absl::StatusOr<ParsedJwt> parseJwt(std::string_view jwt) {
  size_t d1 = jwt.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : jwt.find('.', d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos ||
      jwt.find('.', d2 + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError("go-jose/go-jose: compact JWS format must have three parts");
  }
  auto header = base64UrlDecode(jwt.substr(0, d1));
  auto payload = base64UrlDecode(jwt.substr(d1 + 1, d2 - d1 - 1));
  auto sig = base64UrlDecode(jwt.substr(d2 + 1));
  if (!header || !payload || !sig) {
    return absl::InvalidArgumentError("illegal base64 data in JWT");
  }
  ParsedJwt out;
  out.header = nlohmann::json::parse(*header, nullptr, false);
  out.claims = nlohmann::json::parse(*payload, nullptr, false);
  if (out.header.is_discarded() || !out.header.is_object() || out.claims.is_discarded() ||
      !out.claims.is_object()) {
    return absl::InvalidArgumentError("go-jose/go-jose/jwt: error in cryptographic primitive");
  }
  out.signing_input = std::string(jwt.substr(0, d2));
  out.signature = std::move(*sig);
  return out;
}

bool verifyHs256(const ParsedJwt& jwt, const std::string& key) {
  auto alg = jwt.header.find("alg");
  if (alg == jwt.header.end() || !alg->is_string() || alg->get<std::string>() != "HS256") {
    return false;
  }
  std::string expected = hmacSha256(key, jwt.signing_input);
  return !expected.empty() && expected.size() == jwt.signature.size() &&
         CRYPTO_memcmp(expected.data(), jwt.signature.data(), expected.size()) == 0;
}

bool audienceContains(const nlohmann::json& claims, std::string_view audience) {
  auto it = claims.find("aud");
  if (it == claims.end()) {
    return false;
  }
  if (it->is_string()) {
    return it->get<std::string>() == audience;
  }
  if (it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string() && a.get<std::string>() == audience) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace secretsync::test::vault
