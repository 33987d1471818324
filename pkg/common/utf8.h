#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace secretsync::common {

// Decodes one multi-byte UTF-8 sequence starting at s[i]. @return its length (2 to 4), or 0 when
// there is none: an ASCII byte, a stray or missing continuation byte, an overlong form, a
// surrogate, beyond U+10FFFF, or truncated. Shared by the logger (which replaces invalid bytes)
// and the Go JSON encoder (pkg/api/go_json.h), which must agree with Go on what is valid.
inline size_t validUtf8Length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t len = 0;
  uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return len;
}

}  // namespace secretsync::common
