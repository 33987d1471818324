#include "pkg/common/log.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/utf8.h"

namespace secretsync::common::log {
namespace {

// The process-wide logger. Lines are formatted under the lock too: it keeps the stream and the
// clock alive for the whole write (configure() may swap them at any time) and logging is far from
// hot enough for the lock to matter.
class Logger {
 public:
  LoggerOptions configure(const LoggerOptions& options) {
    std::lock_guard lock(mu_);
    LoggerOptions previous = options_;
    options_ = options;
    level_.store(static_cast<int>(options.level), std::memory_order_relaxed);
    return previous;
  }

  bool enabled(Level level) const {
    return static_cast<int>(level) >= level_.load(std::memory_order_relaxed);
  }

  void write(Level level, std::string_view msg, absl::Span<const Field> fields) {
    std::lock_guard lock(mu_);
    const Clock& clock = options_.clock != nullptr ? *options_.clock : realClock();
    const std::string line = formatLine(options_.format, clock.now(), level, msg, fields);
    std::ostream& out = options_.out != nullptr ? *options_.out : std::cerr;
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    out.flush();
  }

 private:
  mutable std::mutex mu_;
  LoggerOptions options_ ABSL_GUARDED_BY(mu_);
  // Mirrors options_.level so the disabled-level check needs no lock.
  std::atomic<int> level_{static_cast<int>(Level::kInfo)};
};

Logger& logger() {
  // Never destroyed: threads may still log while static destructors run at exit.
  static Logger* const instance = new Logger();
  return *instance;
}

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// Appends `s` escaped for the inside of a JSON string (or a quoted text value: the same rules
// keep a line one line). Valid UTF-8 passes through; invalid bytes become U+FFFD so the output
// is always valid UTF-8 and valid JSON. A bare text message keeps its quotes and backslashes
// (`quotes` false): only what could break the line is escaped there.
void appendEscaped(std::string& out, std::string_view s, bool quotes = true) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t len = validUtf8Length(s, i);
      if (len == 0) {
        out.append(kReplacementChar);
        ++i;
      } else {
        out.append(s.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append(quotes ? "\\\"" : "\"");
        break;
      case '\\':
        out.append(quotes ? "\\\\" : "\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  appendEscaped(out, s);
  out.push_back('"');
}

// Text values are quoted when a reader could otherwise misparse them: empty, whitespace, '=',
// quotes, control or non-ASCII bytes.
bool needsQuoting(std::string_view s) {
  if (s.empty()) {
    return true;
  }
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == '=' || c == '"' || c == '\\' || c >= 0x7F) {
      return true;
    }
  }
  return false;
}

void appendTextValue(std::string& out, std::string_view s) {
  if (needsQuoting(s)) {
    appendJsonString(out, s);
  } else {
    out.append(s);
  }
}

// Text keys are ours, but a key with a space or '=' would break the key=value grammar.
void appendTextKey(std::string& out, std::string_view key) {
  if (key.empty()) {
    out.append("_");
    return;
  }
  for (const char ch : key) {
    const unsigned char c = static_cast<unsigned char>(ch);
    out.push_back(c <= 0x20 || c == '=' || c == '"' || c >= 0x7F ? '_' : ch);
  }
}

std::string formatDouble(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

// Appends a field value. JSON has no NaN or infinities, so those become strings there.
void appendValue(std::string& out, Format format, const Field::Value& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (format == Format::kJson) {
            appendJsonString(out, v);
          } else {
            appendTextValue(out, v);
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          out.append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, double>) {
          const std::string s = formatDouble(v);
          if (format == Format::kJson && !std::isfinite(v)) {
            appendJsonString(out, s);
          } else {
            out.append(s);
          }
        } else if constexpr (std::is_same_v<T, Field::Redacted>) {
          if (format == Format::kJson) {
            appendJsonString(out, SecretString::kRedacted);
          } else {
            out.append(SecretString::kRedacted);
          }
        } else {
          absl::StrAppend(&out, v);
        }
      },
      value);
}

std::string_view upperLevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarn:
      return "WARN";
    case Level::kError:
      return "ERROR";
  }
  return "INFO";
}

}  // namespace

Field::Field(std::string_view key, const absl::Status& status)
    : key_(key), value_(status.ok() ? std::string("OK") : std::string(status.message())) {}

std::string_view levelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::optional<Level> parseLevel(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(av(name));
  if (lower == "debug") {
    return Level::kDebug;
  }
  if (lower == "info") {
    return Level::kInfo;
  }
  if (lower == "warn" || lower == "warning") {
    return Level::kWarn;
  }
  if (lower == "error") {
    return Level::kError;
  }
  return std::nullopt;
}

std::optional<Format> parseFormat(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(av(name));
  if (lower == "json") {
    return Format::kJson;
  }
  if (lower == "text") {
    return Format::kText;
  }
  return std::nullopt;
}

std::string formatTimestamp(SystemTime ts) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(ts);
  const auto day = floor<days>(ms);
  const year_month_day ymd(day);
  const hh_mm_ss<milliseconds> tod(ms - day);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                static_cast<int>(tod.subseconds().count()));
  return buf;
}

std::string formatLine(Format format, SystemTime ts, Level level, std::string_view msg,
                       absl::Span<const Field> fields) {
  std::string out;
  out.reserve(64 + msg.size() + 24 * fields.size());
  if (format == Format::kJson) {
    out.append("{\"ts\":\"");
    out.append(formatTimestamp(ts));
    out.append("\",\"level\":\"");
    out.append(levelName(level));
    out.append("\",\"msg\":");
    appendJsonString(out, msg);
    for (const Field& field : fields) {
      out.push_back(',');
      appendJsonString(out, field.key());
      out.push_back(':');
      appendValue(out, format, field.value());
    }
    out.append("}\n");
    return out;
  }
  out.append(formatTimestamp(ts));
  out.push_back(' ');
  out.append(upperLevelName(level));
  out.push_back(' ');
  // The message stays bare for readability, but escaped so it can never end the line early.
  appendEscaped(out, msg, /*quotes=*/false);
  for (const Field& field : fields) {
    out.push_back(' ');
    appendTextKey(out, field.key());
    out.push_back('=');
    appendValue(out, format, field.value());
  }
  out.push_back('\n');
  return out;
}

LoggerOptions configure(const LoggerOptions& options) { return logger().configure(options); }

bool enabled(Level level) { return logger().enabled(level); }

void write(Level level, std::string_view msg, absl::Span<const Field> fields) {
  Logger& l = logger();
  if (!l.enabled(level)) {
    return;
  }
  l.write(level, msg, fields);
}

}  // namespace secretsync::common::log
