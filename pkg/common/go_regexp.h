#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace secretsync::common {

// A regular expression as Go's `regexp` package reads it, which is what ESO users write in
// find.name.regexp, rewrite[].regexp.source and a ClusterSecretStore's namespaceRegexes. RE2 is
// the engine Go's syntax comes from, so flags (`(?i)`), named groups (`(?P<name>`), `\A`, `\z`,
// `\pL` and `\Q...\E` mean what they mean in Go. Matching takes time linear in the text and a
// bounded stack, whatever the pattern or the text: both come from outside (a manifest, Vault's
// key names), and neither may stall or crash the controller.
//
// Thread-safety: immutable once compiled; every const method may be called from many threads.
class GoRegexp {
 public:
  // @return kInvalidArgument with RE2's reason ("missing ): ...", at most 160 bytes on one line)
  // when `pattern` is not a valid Go regular expression or compiles too big.
  static absl::StatusOr<GoRegexp> compile(std::string_view pattern);

  GoRegexp(GoRegexp&&) noexcept;
  GoRegexp& operator=(GoRegexp&&) noexcept;
  ~GoRegexp();

  // Go's MatchString: a match anywhere in `text`.
  bool matchesIn(std::string_view text) const;
  // A match of the whole of `text` (Go's "^(?:pattern)$").
  bool matchesWhole(std::string_view text) const;
  // Go's ReplaceAllString: every non-overlapping match replaced by `tmpl` expanded as
  // Regexp.Expand does ($1, ${1}, $name, ${name}, $$); an empty match right after a previous
  // match is not replaced.
  std::string replaceAll(std::string_view src, std::string_view tmpl) const;

 private:
  explicit GoRegexp(std::unique_ptr<re2::RE2> re);

  std::unique_ptr<re2::RE2> re_;
};

}  // namespace secretsync::common
