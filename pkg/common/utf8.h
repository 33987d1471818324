#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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

// Cuts `text` to at most `limit` bytes (plus the "..." that marks the cut) without splitting a
// UTF-8 sequence, for quoting outside text (a server's error message) in ours.
inline std::string shortenUtf8(std::string text, size_t limit) {
  if (text.size() <= limit) {
    return text;
  }
  size_t cut = limit;
  // Step back over continuation bytes (10xxxxxx) so the result stays valid UTF-8.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  text.resize(cut);
  text.append("...");
  return text;
}

// Replaces control characters (newlines, tabs, escape sequences, DEL) with spaces, so quoted
// outside text stays on one log line and cannot forge another.
inline std::string flattenControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F ? ' ' : c);
  }
  return out;
}

}  // namespace secretsync::common
