#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "pkg/common/clock.h"
#include "pkg/common/secret_string.h"

namespace secretsync::common::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kJson, kText };

// @return "debug", "info", "warn" or "error".
std::string_view levelName(Level level);
// Accepts the names above, any case, and "warning". @return nullopt for anything else.
std::optional<Level> parseLevel(std::string_view name);
// Accepts "json" and "text". @return nullopt for anything else.
std::optional<Format> parseFormat(std::string_view name);

// One key=value pair of a log line. The value is copied in, so a Field never dangles.
//
// Redaction: a Field built from a SecretString stores only SecretString::kRedacted, never the
// value, so nothing downstream can print the secret. There is deliberately no constructor that
// takes the bytes of a SecretString; calling reveal() to log one is the only way, and is what a
// reviewer looks for.
//
// Thread-safety: a value type.
class Field {
 public:
  // Strings. The `const char*` overload exists so a literal does not pick the bool overload.
  Field(std::string_view key, std::string_view value) : key_(key), value_(std::string(value)) {}
  Field(std::string_view key, const char* value)
      : key_(key), value_(std::string(value != nullptr ? value : "")) {}
  Field(std::string_view key, const std::string& value) : key_(key), value_(value) {}

  // Integers of any width; char is excluded because it is almost always a mistake.
  template <typename T>
  requires std::signed_integral<T> &&(!std::same_as<T, char>)Field(std::string_view key, T value)
      : key_(key), value_(static_cast<int64_t>(value)) {}
  template <typename T>
  requires std::unsigned_integral<T> &&
      (!std::same_as<T, bool>)&&(!std::same_as<T, char>)Field(std::string_view key, T value)
      : key_(key), value_(static_cast<uint64_t>(value)) {}

  Field(std::string_view key, double value) : key_(key), value_(value) {}
  Field(std::string_view key, bool value) : key_(key), value_(value) {}

  // The status message ("OK" for an OK status). Messages built by our code never carry secrets.
  Field(std::string_view key, const absl::Status& status);

  // Stores the redaction marker only; see the class comment.
  Field(std::string_view key, const SecretString&) : key_(key), value_(Redacted{}) {}

  // Marker for a value that was redacted at construction.
  struct Redacted {};
  using Value = std::variant<std::string, int64_t, uint64_t, double, bool, Redacted>;

  const std::string& key() const { return key_; }
  const Value& value() const { return value_; }

 private:
  std::string key_;
  Value value_;
};

using Fields = std::initializer_list<Field>;

// Process-wide logger settings.
struct LoggerOptions {
  Level level = Level::kInfo;
  Format format = Format::kText;
  // Where lines go; must outlive its use by the logger (tests point it at a stringstream and
  // restore the previous options before the stream dies). nullptr means std::cerr.
  std::ostream* out = nullptr;
  // Source of the `ts` of each line; nullptr means realClock(). Must outlive its use.
  const Clock* clock = nullptr;
};

// Replaces the process-wide settings. Safe to call at any time from any thread; lines being
// written finish on the old stream.
// @return the settings replaced, so a test can put them back.
LoggerOptions configure(const LoggerOptions& options);

// @return whether a line at `level` would be written (to skip building costly fields).
bool enabled(Level level);

// Writes one line if `level` is enabled. Each line is formatted completely and then written to
// the stream under a lock with a single write, so lines from concurrent threads never interleave.
void write(Level level, std::string_view msg, absl::Span<const Field> fields = {});

inline void debug(std::string_view msg, Fields fields = {}) {
  write(Level::kDebug, msg, absl::MakeConstSpan(fields.begin(), fields.size()));
}
inline void info(std::string_view msg, Fields fields = {}) {
  write(Level::kInfo, msg, absl::MakeConstSpan(fields.begin(), fields.size()));
}
inline void warn(std::string_view msg, Fields fields = {}) {
  write(Level::kWarn, msg, absl::MakeConstSpan(fields.begin(), fields.size()));
}
inline void error(std::string_view msg, Fields fields = {}) {
  write(Level::kError, msg, absl::MakeConstSpan(fields.begin(), fields.size()));
}

// Formats one line, newline included, without writing it. Exposed for tests and for callers
// that write elsewhere (e.g. a CLI's --once summary).
//   json: {"ts":"2026-11-22T06:00:00.123Z","level":"info","msg":"...","key":"value",...}
//   text: 2026-11-22T06:00:00.123Z INFO msg key=value key2="quoted value"
std::string formatLine(Format format, SystemTime ts, Level level, std::string_view msg,
                       absl::Span<const Field> fields);

// RFC 3339 UTC with milliseconds: "2026-11-22T06:00:00.123Z".
std::string formatTimestamp(SystemTime ts);

}  // namespace secretsync::common::log
