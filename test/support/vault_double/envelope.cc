#include "test/support/vault_double/envelope.h"

#include <cstdio>
#include <ctime>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace secretsync::test::vault {
namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }());
  return gen;
}

std::string jsonString(const std::string& s) { return encodeJson(nlohmann::json(s)); }

std::string trimNewline(std::string s) {
  if (!s.empty() && s.back() == '\n') {
    s.pop_back();
  }
  return s;
}

}  // namespace

std::string encodeJson(const nlohmann::json& value) {
  std::string raw = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(raw.size() + 1);
  // <, > and & can only appear inside JSON strings, so escaping them everywhere is safe.
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < raw.size() && raw[i + 1] == '\x80' &&
               (raw[i + 2] == '\xa8' || raw[i + 2] == '\xa9')) {
      out += raw[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\n');
  return out;
}

std::string envelopeBody(const Envelope& e, const WireSettings& settings) {
  std::string warnings = "null";
  if (!e.warnings.empty()) {
    warnings = trimNewline(encodeJson(nlohmann::json(e.warnings)));
  }
  std::string out = absl::StrCat(
      "{\"request_id\":", trimNewline(jsonString(newUuid())),
      ",\"lease_id\":", trimNewline(jsonString(e.lease_id)),
      ",\"renewable\":", e.renewable ? "true" : "false", ",\"lease_duration\":", e.lease_duration,
      ",\"data\":", trimNewline(encodeJson(e.data)), ",\"wrap_info\":null,\"warnings\":", warnings,
      ",\"auth\":", trimNewline(encodeJson(e.auth)));
  if (settings.mount_type_field) {
    absl::StrAppend(&out, ",\"mount_type\":", trimNewline(jsonString(e.mount_type)));
  }
  out += "}\n";
  return out;
}

HttpServerResponse jsonResponse(int status, std::string body) {
  HttpServerResponse res;
  res.status = status;
  res.headers = {{"Cache-Control", "no-store"}, {"Content-Type", "application/json"}};
  res.body = std::move(body);
  return res;
}

HttpServerResponse envelopeResponse(const Envelope& envelope, const WireSettings& settings,
                                    int status) {
  return jsonResponse(status, envelopeBody(envelope, settings));
}

HttpServerResponse errorResponse(int status, const std::vector<std::string>& errors) {
  return jsonResponse(status, encodeJson(nlohmann::json{{"errors", errors}}));
}

HttpServerResponse noContent() { return jsonResponse(204, ""); }

HttpServerResponse coreError(int status, const std::vector<std::string>& messages,
                             const WireSettings& settings) {
  if (!settings.multierror || messages.empty()) {
    return errorResponse(status, messages);
  }
  std::string text = messages.size() == 1 ? std::string("1 error occurred:\n")
                                          : absl::StrCat(messages.size(), " errors occurred:\n");
  for (const auto& m : messages) {
    absl::StrAppend(&text, "\t* ", m, "\n");
  }
  text += "\n";
  return errorResponse(status, {text});
}

HttpServerResponse invalidTokenError(const WireSettings& settings) {
  if (settings.invalid_token_message) {
    return coreError(403, {"permission denied", "invalid token"}, settings);
  }
  return coreError(403, {"permission denied"}, settings);
}

HttpServerResponse permissionDenied(const WireSettings& settings) {
  return coreError(403, {"permission denied"}, settings);
}

std::string formatRfc3339Nano(common::SystemTime t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::floor<std::chrono::seconds>(since);
  int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (nanos > 0) {
    char frac[32];
    std::snprintf(frac, sizeof(frac), "%09lld", static_cast<long long>(nanos));
    std::string f = frac;
    while (!f.empty() && f.back() == '0') {
      f.pop_back();
    }
    absl::StrAppend(&out, ".", f);
  }
  out += "Z";
  return out;
}

std::string formatGoDuration(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s == 0) {
    return "0s";
  }
  std::string sign = s < 0 ? "-" : "";
  if (s < 0) {
    s = -s;
  }
  int64_t h = s / 3600;
  int64_t m = (s % 3600) / 60;
  int64_t sec = s % 60;
  if (h > 0) {
    return absl::StrCat(sign, h, "h", m, "m", sec, "s");
  }
  if (m > 0) {
    return absl::StrCat(sign, m, "m", sec, "s");
  }
  return absl::StrCat(sign, sec, "s");
}

std::optional<std::chrono::seconds> parseDurationString(std::string_view text) {
  if (text.empty()) {
    return std::chrono::seconds(0);
  }
  bool all_digits = true;
  for (char c : text) {
    if (c < '0' || c > '9') {
      all_digits = false;
      break;
    }
  }
  if (all_digits) {
    if (text.size() > 12) {
      return std::nullopt;
    }
    return std::chrono::seconds(std::stoll(std::string(text)));
  }
  // Go duration syntax: a sequence of <decimal><unit>.
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      ++i;
    }
    if (start == i || i - start > 15) {
      return std::nullopt;
    }
    double value = 0;
    try {
      value = std::stod(std::string(text.substr(start, i - start)));
    } catch (...) {
      return std::nullopt;
    }
    size_t ustart = i;
    while (i < text.size() && !((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      ++i;
    }
    std::string_view unit = text.substr(ustart, i - ustart);
    double mult = 0;
    if (unit == "ns") {
      mult = 1e-9;
    } else if (unit == "us" || unit == "µs") {
      mult = 1e-6;
    } else if (unit == "ms") {
      mult = 1e-3;
    } else if (unit == "s") {
      mult = 1;
    } else if (unit == "m") {
      mult = 60;
    } else if (unit == "h") {
      mult = 3600;
    } else if (unit == "d") {
      mult = 86400;
    } else {
      return std::nullopt;
    }
    total += value * mult;
  }
  if (total < 0 || total > 1e12) {
    return std::nullopt;
  }
  return std::chrono::seconds(static_cast<int64_t>(total));
}

std::optional<std::chrono::seconds> parseDuration(const nlohmann::json& value) {
  if (value.is_null()) {
    return std::chrono::seconds(0);
  }
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v < 0) {
      return std::nullopt;
    }
    return std::chrono::seconds(v);
  }
  if (value.is_number_float()) {
    double v = value.get<double>();
    if (v < 0 || v > 1e12) {
      return std::nullopt;
    }
    return std::chrono::seconds(static_cast<int64_t>(v));
  }
  if (value.is_string()) {
    return parseDurationString(value.get<std::string>());
  }
  return std::nullopt;
}

std::optional<bool> parseGoBool(std::string_view t) {
  if (t == "1" || t == "t" || t == "T" || t == "true" || t == "TRUE" || t == "True") {
    return true;
  }
  if (t == "0" || t == "f" || t == "F" || t == "false" || t == "FALSE" || t == "False") {
    return false;
  }
  return std::nullopt;
}

std::string newUuid() {
  uint64_t a = rng()();
  uint64_t b = rng()();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string randomAlnum(size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<size_t> dist(0, sizeof(kChars) - 2);
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kChars[dist(rng())]);
  }
  return out;
}

}  // namespace secretsync::test::vault
