#include "pkg/api/template.h"

#include <cctype>
#include <functional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "pkg/api/go_json.h"
#include "pkg/common/absl_view.h"

namespace secretsync::api {
namespace {

using common::av;

// Go's text/template trims these around `{{-` and `-}}`.
bool isGoSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool isIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// A construct names itself in errors; cut so a hostile template cannot bloat a message.
std::string shown(std::string_view s) {
  return s.size() > 32 ? absl::StrCat(av(s.substr(0, 32)), "...") : std::string(s);
}

struct FunctionSpec {
  std::string_view name;
  size_t arity;
};

constexpr FunctionSpec kFunctions[] = {
    {"b64enc", 1},  {"b64dec", 1},     {"upper", 1},      {"lower", 1}, {"trim", 1},
    {"trimAll", 2}, {"trimPrefix", 2}, {"trimSuffix", 2}, {"quote", 1}, {"squote", 1},
    {"toJson", 1},  {"replace", 3},    {"index", 2},
};

const FunctionSpec* findFunction(std::string_view name) {
  for (const FunctionSpec& f : kFunctions) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

constexpr std::string_view kKeywords[] = {"if",     "else",     "end",   "range", "with",
                                          "define", "template", "block", "break", "continue",
                                          "nil",    "true",     "false"};

class Parser {
 public:
  Parser(std::string_view name, std::string_view text) : name_(name), text_(text) {}

  absl::StatusOr<std::vector<Template::Node>> parse() {
    std::vector<Template::Node> nodes;
    size_t pos = 0;
    bool trim_next_left = false;
    while (pos < text_.size()) {
      const size_t open = text_.find("{{", pos);
      std::string_view plain =
          text_.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos);
      if (trim_next_left) {
        while (!plain.empty() && isGoSpace(plain.front())) {
          plain.remove_prefix(1);
        }
      }
      if (open == std::string_view::npos) {
        appendText(nodes, plain);
        break;
      }
      size_t body = open + 2;
      // "{{- " trims the text before; Go requires the space so "{{-3}}" stays a number.
      if (body + 1 < text_.size() && text_[body] == '-' && isGoSpace(text_[body + 1])) {
        while (!plain.empty() && isGoSpace(plain.back())) {
          plain.remove_suffix(1);
        }
        body += 2;
      }
      appendText(nodes, plain);
      auto close = findClose(body);
      if (!close.ok()) {
        return close.status();
      }
      std::string_view action = text_.substr(body, *close - body);
      trim_next_left = false;
      if (action.size() >= 2 && action.back() == '-' && isGoSpace(action[action.size() - 2])) {
        action.remove_suffix(2);
        trim_next_left = true;
      }
      pos = *close + 2;
      const std::string_view stripped = strip(action);
      if (stripped.size() >= 4 && stripped.substr(0, 2) == "/*" &&
          stripped.substr(stripped.size() - 2) == "*/") {
        continue;  // a comment
      }
      auto pipeline = parsePipeline(action);
      if (!pipeline.ok()) {
        return pipeline.status();
      }
      if (++actions_ > 10'000) {
        return error(absl::StatusCode::kInvalidArgument, "more than 10000 actions");
      }
      nodes.emplace_back(std::move(*pipeline));
    }
    return nodes;
  }

 private:
  static std::string_view strip(std::string_view s) {
    while (!s.empty() && isGoSpace(s.front())) {
      s.remove_prefix(1);
    }
    while (!s.empty() && isGoSpace(s.back())) {
      s.remove_suffix(1);
    }
    return s;
  }

  static void appendText(std::vector<Template::Node>& nodes, std::string_view text) {
    if (!text.empty()) {
      nodes.emplace_back(std::string(text));
    }
  }

  absl::Status error(absl::StatusCode code, std::string_view message) const {
    return absl::Status(
        code, name_.empty() ? std::string(message) : absl::StrCat(av(name_), ": ", av(message)));
  }

  // The position of the "}}" closing the action starting at `from`, skipping string literals
  // (a "}}" inside a quoted string belongs to the string, as in Go).
  absl::StatusOr<size_t> findClose(size_t from) const {
    size_t i = from;
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == '"') {
        ++i;
        while (i < text_.size() && text_[i] != '"' && text_[i] != '\n') {
          i += text_[i] == '\\' ? 2 : 1;
        }
        if (i >= text_.size() || text_[i] != '"') {
          return error(absl::StatusCode::kInvalidArgument, "unterminated quoted string");
        }
        ++i;
        continue;
      }
      if (c == '`') {
        const size_t end = text_.find('`', i + 1);
        if (end == std::string_view::npos) {
          return error(absl::StatusCode::kInvalidArgument, "unterminated raw quoted string");
        }
        i = end + 1;
        continue;
      }
      if (c == '}' && i + 1 < text_.size() && text_[i + 1] == '}') {
        return i;
      }
      ++i;
    }
    return error(absl::StatusCode::kInvalidArgument, "unclosed action");
  }

  absl::StatusOr<std::string> parseQuoted(std::string_view s, size_t& i) const {
    std::string out;
    ++i;  // opening quote
    while (i < s.size() && s[i] != '"') {
      char c = s[i];
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= s.size()) {
        break;
      }
      const char e = s[i + 1];
      i += 2;
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case '\'':
          out += '\'';
          break;
        case 'x': {
          if (i + 2 > s.size() || !std::isxdigit(static_cast<unsigned char>(s[i])) ||
              !std::isxdigit(static_cast<unsigned char>(s[i + 1]))) {
            return error(absl::StatusCode::kInvalidArgument, "invalid \\x escape in string");
          }
          out += static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16));
          i += 2;
          break;
        }
        default:
          return error(absl::StatusCode::kInvalidArgument,
                       absl::StrCat("unsupported escape \\", std::string(1, e), " in string"));
      }
    }
    if (i >= s.size()) {
      return error(absl::StatusCode::kInvalidArgument, "unterminated quoted string");
    }
    ++i;  // closing quote
    return out;
  }

  absl::StatusOr<Template::Pipeline> parsePipeline(std::string_view s) const {
    Template::Pipeline pipeline;
    Template::Command command;
    size_t i = 0;
    auto endCommand = [&]() -> absl::Status {
      if (command.empty()) {
        return error(absl::StatusCode::kInvalidArgument, "missing value for command");
      }
      pipeline.push_back(std::move(command));
      command.clear();
      return absl::OkStatus();
    };
    while (true) {
      while (i < s.size() && isGoSpace(s[i])) {
        ++i;
      }
      if (i >= s.size()) {
        break;
      }
      const char c = s[i];
      if (c == '|') {
        if (absl::Status st = endCommand(); !st.ok()) {
          return st;
        }
        ++i;
        continue;
      }
      if (c == '"') {
        auto lit = parseQuoted(s, i);
        if (!lit.ok()) {
          return lit.status();
        }
        command.push_back(Template::Literal{std::move(*lit)});
        continue;
      }
      if (c == '`') {
        const size_t end = s.find('`', i + 1);
        if (end == std::string_view::npos) {
          return error(absl::StatusCode::kInvalidArgument, "unterminated raw quoted string");
        }
        command.push_back(Template::Literal{std::string(s.substr(i + 1, end - i - 1))});
        i = end + 1;
        continue;
      }
      if (c == '.') {
        size_t j = i + 1;
        while (j < s.size() && isIdentChar(s[j])) {
          ++j;
        }
        if (j == i + 1) {
          if (j < s.size() && !isGoSpace(s[j]) && s[j] != '|') {
            return error(absl::StatusCode::kInvalidArgument,
                         absl::StrCat("bad character after '.': use index . \"key\" for keys "
                                      "with such characters"));
          }
          command.push_back(Template::Dot{});
          i = j;
          continue;
        }
        if (j < s.size() && s[j] == '.') {
          return error(absl::StatusCode::kUnimplemented,
                       absl::StrCat("nested field ", shown(s.substr(i)), " is not supported"));
        }
        if (j < s.size() && !isGoSpace(s[j]) && s[j] != '|') {
          return error(absl::StatusCode::kInvalidArgument,
                       absl::StrCat("bad character '", shown(s.substr(j, 1)),
                                    "' in field name: use index . \"key\" for such keys"));
        }
        command.push_back(Template::Field{std::string(s.substr(i + 1, j - i - 1))});
        i = j;
        continue;
      }
      if (isIdentStart(c)) {
        size_t j = i;
        while (j < s.size() && isIdentChar(s[j])) {
          ++j;
        }
        const std::string_view word = s.substr(i, j - i);
        for (std::string_view k : kKeywords) {
          if (word == k) {
            return error(absl::StatusCode::kUnimplemented,
                         absl::StrCat("\"", av(word), "\" is not supported"));
          }
        }
        if (findFunction(word) == nullptr) {
          return error(absl::StatusCode::kUnimplemented,
                       absl::StrCat("function \"", shown(word), "\" is not supported"));
        }
        if (!command.empty()) {
          return error(absl::StatusCode::kUnimplemented,
                       absl::StrCat("function \"", av(word),
                                    "\" as an argument is not supported; use a pipeline"));
        }
        command.push_back(Template::Function{std::string(word)});
        i = j;
        continue;
      }
      if (c == '$') {
        return error(absl::StatusCode::kUnimplemented, "variables are not supported");
      }
      if (c == '(' || c == ')') {
        return error(absl::StatusCode::kUnimplemented, "parenthesized pipelines are not supported");
      }
      if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '\'') {
        return error(absl::StatusCode::kUnimplemented,
                     "number and character literals are not supported");
      }
      if (c == '/' && s.substr(i, 2) == "/*") {
        return error(absl::StatusCode::kInvalidArgument,
                     "a comment must fill the whole action: {{/* ... */}}");
      }
      return error(absl::StatusCode::kInvalidArgument,
                   absl::StrCat("unexpected character '", shown(s.substr(i, 1)), "' in action"));
    }
    if (absl::Status st = endCommand(); !st.ok()) {
      return pipeline.empty()
                 ? error(absl::StatusCode::kInvalidArgument, "missing value for command")
                 : st;
    }
    return checkArity(std::move(pipeline));
  }

  // Every command after the first gets the previous result as its last argument.
  absl::StatusOr<Template::Pipeline> checkArity(Template::Pipeline pipeline) const {
    for (size_t c = 0; c < pipeline.size(); ++c) {
      const Template::Command& command = pipeline[c];
      const size_t piped = c > 0 ? 1 : 0;
      const auto* fn = std::get_if<Template::Function>(&command.front());
      if (fn == nullptr) {
        if (command.size() > 1 || piped) {
          return error(absl::StatusCode::kInvalidArgument, "can't give argument to non-function");
        }
        if (std::holds_alternative<Template::Dot>(command.front())) {
          return error(absl::StatusCode::kUnimplemented,
                       "printing the whole map with {{ . }} is not supported");
        }
        continue;
      }
      const FunctionSpec* spec = findFunction(fn->name);
      const size_t args = command.size() - 1 + piped;
      if (args != spec->arity) {
        return error(absl::StatusCode::kInvalidArgument,
                     absl::StrCat("wrong number of args for ", av(fn->name), ": want ", spec->arity,
                                  " got ", args));
      }
      for (size_t a = 1; a < command.size(); ++a) {
        const bool dot = std::holds_alternative<Template::Dot>(command[a]);
        const bool index_map = fn->name == "index" && a == 1 && piped == 0;
        if (dot != index_map) {
          return error(
              absl::StatusCode::kUnimplemented,
              dot ? absl::StrCat("\".\" as an argument of ", av(fn->name), " is not supported")
                  : "index is supported only as index . \"key\"");
        }
      }
    }
    return pipeline;
  }

  std::string_view name_;
  std::string_view text_;
  size_t actions_ = 0;
};

// Go's strconv.Quote for the bytes we see: escapes quotes, backslashes and control bytes.
std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += absl::StrCat("\\x", absl::Hex(c, absl::kZeroPad2));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

// Go's json.Marshal of a string (sprig's toJson).
std::string goJsonString(const std::string& s) { return goJsonMarshal(nlohmann::json(s)); }

// strings.Trim(s, cutset) for a byte cutset.
std::string trimAll(std::string_view s, std::string_view cutset) {
  while (!s.empty() && cutset.find(s.front()) != std::string_view::npos) {
    s.remove_prefix(1);
  }
  while (!s.empty() && cutset.find(s.back()) != std::string_view::npos) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

}  // namespace

absl::StatusOr<Template> Template::parse(std::string_view name, std::string_view text) {
  if (text.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        av(name), name.empty() ? "" : ": ", "template longer than ", kMaxTextBytes, " bytes"));
  }
  Parser parser(name, text);
  auto nodes = parser.parse();
  if (!nodes.ok()) {
    return nodes.status();
  }
  Template t;
  t.name_ = std::string(name);
  t.nodes_ = std::move(*nodes);
  return t;
}

absl::StatusOr<std::string> Template::render(
    const std::map<std::string, std::string>& values) const {
  auto fail = [this](absl::StatusCode code, std::string_view message) {
    return absl::Status(
        code, name_.empty() ? std::string(message) : absl::StrCat(name_, ": ", av(message)));
  };
  auto lookup = [&](const std::string& key) -> absl::StatusOr<std::string> {
    auto it = values.find(key);
    if (it == values.end()) {
      // The key is a name from the template, not a value.
      return fail(absl::StatusCode::kFailedPrecondition,
                  absl::StrCat("map has no entry for key \"", shown(key), "\""));
    }
    return it->second;
  };
  std::string out;
  for (const Node& node : nodes_) {
    if (const auto* text = std::get_if<std::string>(&node)) {
      out += *text;
    } else {
      const Pipeline& pipeline = std::get<Pipeline>(node);
      std::string value;
      for (size_t c = 0; c < pipeline.size(); ++c) {
        const Command& command = pipeline[c];
        std::vector<std::string> args;
        for (size_t a = 1; a < command.size(); ++a) {
          if (const auto* lit = std::get_if<Literal>(&command[a])) {
            args.push_back(lit->text);
          } else if (const auto* field = std::get_if<Field>(&command[a])) {
            auto v = lookup(field->key);
            if (!v.ok()) {
              return v.status();
            }
            args.push_back(std::move(*v));
          } else {
            args.emplace_back();  // the "." of index . "key"
          }
        }
        if (c > 0) {
          args.push_back(std::move(value));
        }
        if (const auto* lit = std::get_if<Literal>(&command.front())) {
          value = lit->text;
          continue;
        }
        if (const auto* field = std::get_if<Field>(&command.front())) {
          auto v = lookup(field->key);
          if (!v.ok()) {
            return v.status();
          }
          value = std::move(*v);
          continue;
        }
        const std::string& fn = std::get<Function>(command.front()).name;
        if (fn == "b64enc") {
          value = absl::Base64Escape(args[0]);
        } else if (fn == "b64dec") {
          std::string decoded;
          if (!absl::Base64Unescape(args[0], &decoded)) {
            return fail(absl::StatusCode::kFailedPrecondition, "b64dec: input is not valid base64");
          }
          value = std::move(decoded);
        } else if (fn == "upper") {
          value = absl::AsciiStrToUpper(args[0]);
        } else if (fn == "lower") {
          value = absl::AsciiStrToLower(args[0]);
        } else if (fn == "trim") {
          value = trimAll(args[0], " \t\n\r\v\f");
        } else if (fn == "trimAll") {
          value = trimAll(args[1], args[0]);
        } else if (fn == "trimPrefix") {
          value = absl::StartsWith(args[1], args[0]) ? args[1].substr(args[0].size()) : args[1];
        } else if (fn == "trimSuffix") {
          value = absl::EndsWith(args[1], args[0])
                      ? args[1].substr(0, args[1].size() - args[0].size())
                      : args[1];
        } else if (fn == "quote") {
          value = goQuote(args[0]);
        } else if (fn == "squote") {
          value = absl::StrCat("'", args[0], "'");
        } else if (fn == "toJson") {
          value = goJsonString(args[0]);
        } else if (fn == "replace") {
          value = args[0].empty() ? args[2] : absl::StrReplaceAll(args[2], {{args[0], args[1]}});
        } else if (fn == "index") {
          auto v = lookup(args[1]);
          if (!v.ok()) {
            return v.status();
          }
          value = std::move(*v);
        }
        if (value.size() > kMaxOutputBytes) {
          return fail(absl::StatusCode::kResourceExhausted, "output larger than 1 MiB");
        }
      }
      out += value;
    }
    if (out.size() > kMaxOutputBytes) {
      return fail(absl::StatusCode::kResourceExhausted, "output larger than 1 MiB");
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> renderTemplateData(
    const std::map<std::string, std::string>& templates,
    const std::map<std::string, std::string>& values) {
  std::map<std::string, std::string> out;
  for (const auto& [key, text] : templates) {
    auto t = Template::parse(absl::StrCat("spec.target.template.data[", key, "]"), text);
    if (!t.ok()) {
      return t.status();
    }
    auto rendered = t->render(values);
    if (!rendered.ok()) {
      return rendered.status();
    }
    out.emplace(key, std::move(*rendered));
  }
  return out;
}

}  // namespace secretsync::api
