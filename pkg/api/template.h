#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace secretsync::api {

// The subset of ESO's template engine v2 (Go text/template with sprig functions, values are the
// secret's keys as strings) that secretsync renders:
//   - text and actions `{{ pipeline }}`, with `{{-` / `-}}` trimming the whitespace around them
//     as Go does, and comments `{{/* ... */}}`;
//   - a pipeline is commands joined by `|`, each one's result passed as the next one's last
//     argument: `{{ .password | b64enc }}`, `{{ "x" | upper }}`;
//   - operands: `.key` (a secret key; a missing key is an error, as ESO renders with
//     missingkey=error), `index . "key-with-dashes"`, "interpreted" and `raw` string literals;
//   - functions, by their sprig names: b64enc, b64dec, upper, lower, trim, trimAll, trimPrefix,
//     trimSuffix, quote, squote, toJson, replace.
// Everything else — if/range/with/define/template/block, variables, parentheses, numbers and other
// literals, nested fields, other functions — is refused at parse time with kUnimplemented naming
// the construct, never rendered wrongly.
//
// Deviation from sprig: b64dec of invalid base64 is an error (sprig returns the Go error text as
// the value, which would end up in a Secret).
//
// Thread-safety: immutable after parse(); render() may be called from many threads at once.
class Template {
 public:
  // Largest template text and largest rendered output (a Secret holds at most 1 MiB).
  static constexpr size_t kMaxTextBytes = 256 * 1024;
  static constexpr size_t kMaxOutputBytes = 1024 * 1024;

  // @param name used as the prefix of every error ("<name>: ..."), e.g. the field path of the
  //   template (`spec.target.template.data[config.yaml]`); "" for none.
  // @return kInvalidArgument for a syntax error (unclosed action, bad string literal, wrong
  //   argument count), kUnimplemented for a construct outside the subset.
  static absl::StatusOr<Template> parse(std::string_view name, std::string_view text);

  // Renders with `values` (secret key -> value). Errors never contain a value:
  // kFailedPrecondition for a missing key or a function that cannot apply (b64dec of invalid
  // base64), kResourceExhausted for output beyond kMaxOutputBytes.
  absl::StatusOr<std::string> render(const std::map<std::string, std::string>& values) const;

  const std::string& name() const { return name_; }

  // Parse tree; public so the evaluator in template.cc can walk it.
  struct Field {
    std::string key;
  };
  struct Literal {
    std::string text;
  };
  struct Function {
    std::string name;
  };
  struct Dot {};
  using Word = std::variant<Field, Literal, Function, Dot>;
  using Command = std::vector<Word>;
  using Pipeline = std::vector<Command>;
  using Node = std::variant<std::string, Pipeline>;

 private:
  Template() = default;

  std::string name_;
  std::vector<Node> nodes_;
};

// Renders every template of `templates` (template.data: Secret key -> template text) with
// `values`, each error naming the template's key ("spec.target.template.data[<key>]: ...").
absl::StatusOr<std::map<std::string, std::string>> renderTemplateData(
    const std::map<std::string, std::string>& templates,
    const std::map<std::string, std::string>& values);

}  // namespace secretsync::api
