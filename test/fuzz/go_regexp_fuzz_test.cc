// Fuzz target for Go regexps as manifests use them: the input is split at its first two NULs into
// a pattern, a rewrite target and a text (a Vault key name). Beyond "no crash": a bad pattern is
// kInvalidArgument, a whole match is also a match somewhere, and replacing every match by itself
// ("$0") gives the text back, which checks the match positions and Go's empty-match steps.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "pkg/common/go_regexp.h"

namespace {

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

// The part of `input` before the next NUL, which is consumed; all of it when there is none.
std::string_view nextPart(std::string_view& input) {
  const size_t nul = input.find('\0');
  const std::string_view part = input.substr(0, nul);
  input = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string_view pattern = nextPart(input);
  const std::string_view tmpl = nextPart(input);
  const std::string_view text = input;
  auto re = secretsync::common::GoRegexp::compile(pattern);
  if (!re.ok()) {
    check(re.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  check(!re->matchesWhole(text) || re->matchesIn(text));
  check(re->replaceAll(text, "$0") == text);
  (void)re->replaceAll(text, tmpl);
  return 0;
}
