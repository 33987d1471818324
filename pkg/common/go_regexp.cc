#include "pkg/common/go_regexp.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "pkg/common/utf8.h"
#include "re2/re2.h"

namespace secretsync::common {
namespace {

// Longest reason we return: it lands in statuses and events.
constexpr size_t kMaxErrorBytes = 160;

// What Go's Regexp.Expand reads after a '$': a name of letters, digits and '_', or one in braces.
// `num` is the group number when the name is a decimal number without a leading zero (Go's
// extract(); beyond 1e8 it is a name). Go also takes non-ASCII letters into names; RE2 group names
// are ASCII, so such a name could only ever expand to nothing, and here it ends the name instead.
struct TemplateRef {
  std::string_view name;
  int num = -1;
  size_t length = 0;  // bytes consumed after the '$'
};

bool isNameByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// @return false for a malformed reference (Go then writes the '$' as text).
bool readTemplateRef(std::string_view rest, TemplateRef& ref) {
  const bool brace = !rest.empty() && rest.front() == '{';
  size_t i = brace ? 1 : 0;
  const size_t start = i;
  while (i < rest.size() && isNameByte(rest[i])) {
    ++i;
  }
  if (i == start || (brace && (i >= rest.size() || rest[i] != '}'))) {
    return false;
  }
  ref.name = rest.substr(start, i - start);
  ref.length = brace ? i + 1 : i;
  ref.num = 0;
  for (char c : ref.name) {
    if (c < '0' || c > '9' || ref.num >= 100000000) {
      ref.num = -1;
      break;
    }
    ref.num = ref.num * 10 + (c - '0');
  }
  if (ref.name.size() > 1 && ref.name.front() == '0') {
    ref.num = -1;
  }
  return true;
}

}  // namespace

GoRegexp::GoRegexp(std::unique_ptr<re2::RE2> re) : re_(std::move(re)) {}
GoRegexp::GoRegexp(GoRegexp&&) noexcept = default;
GoRegexp& GoRegexp::operator=(GoRegexp&&) noexcept = default;
GoRegexp::~GoRegexp() = default;

absl::StatusOr<GoRegexp> GoRegexp::compile(std::string_view pattern) {
  re2::RE2::Options options;      // UTF-8, leftmost-first, Perl classes: Go's defaults
  options.set_log_errors(false);  // the reason goes into the returned status, not to stderr
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    // RE2 quotes the offending part of the pattern, which may be the whole of a huge one.
    return absl::InvalidArgumentError(shortenUtf8(flattenControls(re->error()), kMaxErrorBytes));
  }
  return GoRegexp(std::move(re));
}

bool GoRegexp::matchesIn(std::string_view text) const {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

bool GoRegexp::matchesWhole(std::string_view text) const {
  return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

std::string GoRegexp::replaceAll(std::string_view src, std::string_view tmpl) const {
  const int groups = re_->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> m(static_cast<size_t>(groups) + 1);
  const re2::StringPiece text(src.data(), src.size());
  auto expand = [&](std::string& out) {
    for (size_t i = 0; i < tmpl.size(); ++i) {
      if (tmpl[i] != '$') {
        out.push_back(tmpl[i]);
        continue;
      }
      if (i + 1 < tmpl.size() && tmpl[i + 1] == '$') {
        out.push_back('$');
        ++i;
        continue;
      }
      TemplateRef ref;
      if (!readTemplateRef(tmpl.substr(i + 1), ref)) {
        out.push_back('$');
        continue;
      }
      i += ref.length;
      int group = ref.num;
      if (group < 0) {
        const auto& named = re_->NamedCapturingGroups();
        auto it = named.find(std::string(ref.name));
        group = it == named.end() ? -1 : it->second;
      }
      // An unmatched group's data() is null: it expands to nothing, as an out-of-range one.
      if (group >= 0 && group <= groups && m[static_cast<size_t>(group)].data() != nullptr) {
        out.append(m[static_cast<size_t>(group)].data(), m[static_cast<size_t>(group)].size());
      }
    }
  };
  std::string out;
  size_t search = 0;
  size_t last_end = 0;
  // Go's loop: match from `search` with the whole text as context (so ^ and \b see what precedes),
  // then advance by at least one character.
  while (search <= src.size() &&
         re_->Match(text, search, src.size(), re2::RE2::UNANCHORED, m.data(), groups + 1)) {
    const size_t a0 = static_cast<size_t>(m[0].data() - src.data());
    const size_t a1 = a0 + m[0].size();
    out.append(src, last_end, a0 - last_end);
    if (a1 > last_end || a0 == 0) {
      expand(out);
    }
    last_end = a1;
    const size_t width =
        search < src.size() ? std::max<size_t>(1, validUtf8Length(src, search)) : 1;
    search = search + width > a1 ? search + width : a1;
  }
  out.append(src, last_end, std::string_view::npos);
  return out;
}

}  // namespace secretsync::common
