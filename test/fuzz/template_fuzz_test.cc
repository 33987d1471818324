// Fuzz target for the template engine: the input is split at the first NUL into a template and
// a value for every key it may name; parse, then render. Beyond "no crash": errors carry the
// documented codes and rendering stays within its output bound.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "pkg/api/template.h"

namespace {

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using secretsync::api::Template;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  const std::string value(nul == std::string_view::npos ? "" : input.substr(nul + 1));
  auto t = Template::parse("fuzz", text);
  if (!t.ok()) {
    check(t.status().code() == absl::StatusCode::kInvalidArgument ||
          t.status().code() == absl::StatusCode::kUnimplemented);
    return 0;
  }
  const std::map<std::string, std::string> values = {
      {"a", value}, {"b", "aGVsbG8="}, {"key", value}, {"user", "admin"}, {"password", value}};
  auto out = t->render(values);
  if (out.ok()) {
    check(out->size() <= Template::kMaxOutputBytes);
  } else {
    const absl::StatusCode code = out.status().code();
    check(code == absl::StatusCode::kFailedPrecondition ||
          code == absl::StatusCode::kResourceExhausted);
  }
  return 0;
}
