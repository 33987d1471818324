#include "pkg/common/yaml_json.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/utf8.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/parser.h"
#include "yaml-cpp/yaml.h"

namespace secretsync::common {
namespace {

using nlohmann::json;

// The tag yaml-cpp gives an untagged plain scalar; a quoted one gets "!".
constexpr std::string_view kPlainTag = "?";

std::string lineOf(const YAML::Mark& mark) {
  // yaml-cpp marks are 0-based; -1 when unknown (a node built rather than parsed).
  return mark.line >= 0 ? absl::StrCat("line ", mark.line + 1, ": ") : std::string();
}

bool isDigitIn(char c, int base) {
  if (base == 16) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  return c >= '0' && c < static_cast<char>('0' + base);
}

// An integer in go-yaml v2's reading: optional sign, then decimal, 0x hex, 0o / leading-0 octal
// or 0b binary; '_' separators allowed. Sets `is_int` and either `out` (fits int64) or `big`.
bool parseYamlInt(std::string_view text, int64_t& out, double& big, bool& fits) {
  std::string digits;
  for (char c : text) {
    if (c != '_') {
      digits += c;
    }
  }
  std::string_view s = digits;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return false;
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!isDigitIn(c, base)) {
      return false;
    }
  }
  // Magnitude as unsigned, then as double once it no longer fits.
  unsigned __int128 value = 0;
  double approx = 0;
  bool overflow = false;
  for (char c : s) {
    const int d = (c >= '0' && c <= '9')   ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                           : c - 'A' + 10;
    approx = approx * base + d;
    if (!overflow) {
      value = value * static_cast<unsigned>(base) + static_cast<unsigned>(d);
      overflow = value > (static_cast<unsigned __int128>(1) << 64);
    }
  }
  const unsigned __int128 limit = negative ? (static_cast<unsigned __int128>(1) << 63)
                                           : (static_cast<unsigned __int128>(1) << 63) - 1;
  if (!overflow && value <= limit) {
    fits = true;
    out = negative ? static_cast<int64_t>(-static_cast<__int128>(value))
                   : static_cast<int64_t>(value);
  } else {
    fits = false;
    big = negative ? -approx : approx;
  }
  return true;
}

// A float in go-yaml v2's reading: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool parseYamlFloat(std::string_view text, double& out) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    ++i;
  }
  size_t int_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    ++i;
    ++int_digits;
  }
  size_t frac_digits = 0;
  bool dot = false;
  if (i < text.size() && text[i] == '.') {
    dot = true;
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
      ++frac_digits;
    }
  }
  if (int_digits == 0 && (!dot || frac_digits == 0)) {
    return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      ++i;
    }
    size_t exp_digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
      ++exp_digits;
    }
    if (exp_digits == 0) {
      return false;
    }
  }
  if (i != text.size()) {
    return false;
  }
  const std::string copy(text);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(v)) {
    return false;
  }
  out = v;
  return true;
}

json plainScalar(const std::string& text) {
  static const char* const kNull[] = {"", "~", "null", "Null", "NULL"};
  static const char* const kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on",   "On",   "ON",   "y",   "Y"};
  static const char* const kFalse[] = {"false", "False", "FALSE", "no", "No", "NO",
                                       "off",   "Off",   "OFF",   "n",  "N"};
  for (const char* s : kNull) {
    if (text == s) {
      return nullptr;
    }
  }
  for (const char* s : kTrue) {
    if (text == s) {
      return true;
    }
  }
  for (const char* s : kFalse) {
    if (text == s) {
      return false;
    }
  }
  int64_t i = 0;
  double big = 0;
  bool fits = false;
  if (parseYamlInt(text, i, big, fits)) {
    if (fits) {
      return i;
    }
    return big;
  }
  double f = 0;
  if (parseYamlFloat(text, f)) {
    return f;
  }
  return text;
}

// Thrown inside the event handler to stop the parser; never leaves this file.
struct Abort {
  absl::Status status;
};

// Builds JSON straight from yaml-cpp's parser events. Going through events rather than
// YAML::LoadAll lets us bound everything as it is produced (depth, values, text, documents) and
// stop a stream yaml-cpp 0.7 would loop on forever: a stray ',' at document level makes
// HandleNextDocument return an empty document without consuming anything.
//
// Not thread-safe; one per conversion.
class JsonBuilder final : public YAML::EventHandler {
 public:
  explicit JsonBuilder(const YamlLimits& limits) : limits_(limits) {}

  std::vector<json>& documents() { return documents_; }
  // Where the last document started when it was empty (nullopt when it was not), to notice a
  // parser that makes no progress.
  const std::optional<YAML::Mark>& lastEmpty() const { return last_empty_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    anchors_.clear();
    stack_.clear();
    root_.reset();
    doc_mark_ = mark;
  }

  void OnDocumentEnd() override {
    if (root_.has_value() && !root_->is_null()) {
      documents_.push_back(std::move(*root_));
      last_empty_.reset();
    } else {
      last_empty_ = doc_mark_;
    }
    root_.reset();
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Item item{json(nullptr), mark, 1, 0, "null", true};
    complete(std::move(item), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      // yaml-cpp lets an alias name the collection it sits in; JSON cannot hold a cycle.
      fail(mark, "alias refers to an anchor that is not complete (a cycle)");
    }
    // Counted before the copy, so an alias bomb stops before it is expanded.
    account(mark, it->second.nodes, it->second.bytes);
    complete(it->second, YAML::NullAnchor, /*counted=*/true);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    json typed;
    if (tag == kPlainTag) {
      typed = plainScalar(value);
    } else if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
               tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null") {
      typed = plainScalar(value);
      if (typed.is_string()) {
        fail(mark, absl::StrCat("scalar does not match its tag ", av(tag.substr(0, 64))));
      }
    } else {
      // "!" (quoted), !!str, !!binary and local tags: the text as is.
      typed = value;
    }
    Item item{std::move(typed), mark, 1, value.size(), value, true};
    item.merge_key = tag == kPlainTag && value == "<<";
    complete(std::move(item), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(json::array(), mark, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(json::object(), mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  // A finished value with what it costs (for alias accounting) and, for scalars, the text a key
  // is named by.
  struct Item {
    json value;
    YAML::Mark mark;
    size_t nodes = 1;
    size_t bytes = 0;
    std::string key_text;
    bool is_scalar = false;
    bool merge_key = false;
  };

  struct Frame {
    json value;
    YAML::Mark mark;
    YAML::anchor_t anchor = YAML::NullAnchor;
    size_t nodes = 1;
    size_t bytes = 0;
    // Maps: the key waiting for its value, and the `<<` values to merge at the end.
    std::optional<std::string> key;
    YAML::Mark key_mark;
    bool key_is_merge = false;
    std::vector<std::pair<json, YAML::Mark>> merges;
  };

  [[noreturn]] void fail(const YAML::Mark& mark, std::string_view message,
                         absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
    throw Abort{absl::Status(code, absl::StrCat(lineOf(mark), av(message)))};
  }

  void account(const YAML::Mark& mark, size_t nodes, size_t bytes) {
    nodes_ += nodes;
    bytes_ += bytes;
    if (nodes_ > limits_.max_nodes) {
      fail(mark, absl::StrCat("document expands to more than ", limits_.max_nodes, " values"),
           absl::StatusCode::kResourceExhausted);
    }
    if (bytes_ > limits_.max_scalar_bytes) {
      fail(mark,
           absl::StrCat("document expands to more than ", limits_.max_scalar_bytes,
                        " bytes of text"),
           absl::StatusCode::kResourceExhausted);
    }
  }

  void open(json value, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      fail(mark, absl::StrCat("nesting deeper than ", limits_.max_depth));
    }
    account(mark, 1, 0);
    Frame frame;
    frame.value = std::move(value);
    frame.mark = mark;
    frame.anchor = anchor;
    stack_.push_back(std::move(frame));
  }

  void close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    // Merged mappings fill only keys not set explicitly; of several, the first wins (YAML 1.1).
    for (auto& [merged, mark] : frame.merges) {
      std::vector<json*> sources;
      if (merged.is_object()) {
        sources.push_back(&merged);
      } else if (merged.is_array()) {
        for (json& m : merged) {
          if (!m.is_object()) {
            fail(mark, "a merge key takes mappings only");
          }
          sources.push_back(&m);
        }
      } else {
        fail(mark, "a merge key takes a mapping or a list of them");
      }
      for (json* source : sources) {
        for (auto& [k, v] : source->items()) {
          if (!frame.value.contains(k)) {
            frame.value[k] = v;
          }
        }
      }
    }
    Item item{std::move(frame.value), frame.mark, frame.nodes, frame.bytes, "", false};
    // The container and its contents were counted as they were opened and completed.
    complete(std::move(item), frame.anchor, /*counted=*/true);
  }

  // Places a finished value: the document root, a list item, a map key or a map value.
  // Aliases are re-counted in full each time they appear: that is what bounds the expansion.
  void complete(Item item, YAML::anchor_t anchor, bool counted = false) {
    if (!counted) {
      account(item.mark, item.nodes, item.bytes);
    }
    if (anchor != YAML::NullAnchor) {
      Item stored = item;
      stored.merge_key = false;
      anchors_[anchor] = std::move(stored);
    }
    if (stack_.empty()) {
      root_ = std::move(item.value);
      return;
    }
    Frame& top = stack_.back();
    top.nodes += item.nodes;
    top.bytes += item.bytes;
    if (top.value.is_array()) {
      top.value.push_back(std::move(item.value));
      return;
    }
    if (!top.key.has_value()) {
      if (!item.is_scalar) {
        fail(item.mark, "a mapping or sequence cannot be a key");
      }
      // A key by its text as written: go-yaml would turn `on:` into "true"; we keep "on".
      top.key = item.key_text;
      top.key_mark = item.mark;
      top.key_is_merge = item.merge_key;
      return;
    }
    std::string key = std::move(*top.key);
    top.key.reset();
    if (top.key_is_merge) {
      top.merges.emplace_back(std::move(item.value), item.mark);
      return;
    }
    if (top.value.contains(key)) {
      // Keys are names from the manifest, not secret values, so naming one is fine.
      fail(top.key_mark, absl::StrCat("duplicate key \"", av(key.substr(0, 64)), "\""));
    }
    top.value[key] = std::move(item.value);
  }

  const YamlLimits& limits_;
  std::vector<json> documents_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Item> anchors_;
  std::optional<json> root_;
  YAML::Mark doc_mark_;
  std::optional<YAML::Mark> last_empty_;
  size_t nodes_ = 0;
  size_t bytes_ = 0;
};

// Most documents one stream may hold; also stops a parser that keeps returning empty ones.
constexpr size_t kMaxDocuments = 10'000;

// A UTF-8 stream must be valid UTF-8 (go-yaml, and so kubectl, refuse it otherwise): a string that
// is not would reach nlohmann::json, whose dump() throws on it wherever the value goes next.
// UTF-16 and UTF-32 streams (a BOM, or NUL bytes up front) are left to yaml-cpp, which converts.
// @return the 1-based line of the first byte that is not valid UTF-8, or 0 when there is none.
int firstInvalidUtf8Line(std::string_view text) {
  if (text.size() >= 2) {
    const auto b0 = static_cast<unsigned char>(text[0]);
    const auto b1 = static_cast<unsigned char>(text[1]);
    if (b0 == 0 || b1 == 0 || (b0 == 0xFE && b1 == 0xFF) || (b0 == 0xFF && b1 == 0xFE)) {
      return 0;
    }
  }
  int line = 1;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      line += c == '\n' ? 1 : 0;
      ++i;
      continue;
    }
    const size_t length = validUtf8Length(text, i);
    if (length == 0) {
      return line;
    }
    i += length;
  }
  return 0;
}

}  // namespace

absl::StatusOr<std::vector<json>> yamlToJson(std::string_view yaml, const YamlLimits& limits) {
  if (yaml.size() > limits.max_input_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("YAML input of ", yaml.size(), " bytes exceeds ", limits.max_input_bytes));
  }
  if (const int line = firstInvalidUtf8Line(yaml); line > 0) {
    return absl::InvalidArgumentError(absl::StrCat("line ", line, ": invalid YAML: not UTF-8"));
  }
  const std::string text(yaml);
  std::istringstream stream(text);
  JsonBuilder builder(limits);
  try {
    YAML::Parser parser(stream);
    size_t documents = 0;
    int last_empty_pos = 0;
    bool last_empty_pos_set = false;
    while (parser.HandleNextDocument(builder)) {
      if (++documents > kMaxDocuments) {
        return absl::ResourceExhaustedError(
            absl::StrCat("YAML stream has more than ", kMaxDocuments, " documents"));
      }
      // Two empty documents in a row at one position: the parser is stuck on a token it cannot
      // use (yaml-cpp 0.7 does this on a stray ',').
      const auto& empty = builder.lastEmpty();
      if (empty.has_value()) {
        if (last_empty_pos_set && empty->pos == last_empty_pos) {
          return absl::InvalidArgumentError(
              absl::StrCat(lineOf(*empty), "invalid YAML: unexpected token"));
        }
        last_empty_pos = empty->pos;
        last_empty_pos_set = true;
      } else {
        last_empty_pos_set = false;
      }
    }
  } catch (const Abort& abort) {
    return abort.status;
  } catch (const YAML::Exception& e) {
    // e.msg is yaml-cpp's description without the position; it names syntax, never content.
    return absl::InvalidArgumentError(absl::StrCat(lineOf(e.mark), "invalid YAML: ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid YAML: ", e.what()));
  }
  return std::move(builder.documents());
}

absl::StatusOr<json> yamlToJsonSingle(std::string_view yaml, const YamlLimits& limits) {
  auto docs = yamlToJson(yaml, limits);
  if (!docs.ok()) {
    return docs.status();
  }
  if (docs->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one YAML document, found ", docs->size()));
  }
  return std::move(docs->front());
}

}  // namespace secretsync::common
