#include "test/support/vault_double/policy.h"

#include <algorithm>
#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace secretsync::test::vault {
namespace {

struct CapName {
  Capability cap;
  const char* name;
};
constexpr CapName kCapNames[] = {
    {Capability::kRead, "read"},     {Capability::kList, "list"},
    {Capability::kCreate, "create"}, {Capability::kUpdate, "update"},
    {Capability::kDelete, "delete"}, {Capability::kPatch, "patch"},
    {Capability::kSudo, "sudo"},     {Capability::kDeny, "deny"},
};

const char* capabilityName(Capability c) {
  for (const auto& cn : kCapNames) {
    if (cn.cap == c) {
      return cn.name;
    }
  }
  return "deny";
}

size_t firstWildcard(std::string_view p) {
  size_t plus = p.find('+');
  size_t star = p.find('*');
  return std::min(plus == std::string_view::npos ? p.size() : plus,
                  star == std::string_view::npos ? p.size() : star);
}

size_t countPlus(std::string_view p) {
  return static_cast<size_t>(std::count(p.begin(), p.end(), '+'));
}

bool endsWithStar(std::string_view p) { return !p.empty() && p.back() == '*'; }

// Vault's ACL priority (docs "Priority matching"): @return true if a has LOWER priority than b.
bool lowerPriority(const std::string& a, const std::string& b) {
  size_t wa = firstWildcard(a);
  size_t wb = firstWildcard(b);
  if (wa != wb) {
    return wa < wb;
  }
  if (endsWithStar(a) != endsWithStar(b)) {
    return endsWithStar(a);
  }
  size_t pa = countPlus(a);
  size_t pb = countPlus(b);
  if (pa != pb) {
    return pa > pb;
  }
  if (a.size() != b.size()) {
    return a.size() < b.size();
  }
  return a < b;
}

// Skips blanks and comments.
void skipSpace(const std::string& s, size_t& i) {
  while (i < s.size()) {
    if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
      ++i;
    } else if (s[i] == '#' || (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '/')) {
      while (i < s.size() && s[i] != '\n') {
        ++i;
      }
    } else if (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      size_t end = s.find("*/", i + 2);
      i = end == std::string::npos ? s.size() : end + 2;
    } else {
      return;
    }
  }
}

bool readString(const std::string& s, size_t& i, std::string* out) {
  if (i >= s.size() || s[i] != '"') {
    return false;
  }
  ++i;
  out->clear();
  while (i < s.size() && s[i] != '"') {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
    }
    out->push_back(s[i++]);
  }
  if (i >= s.size()) {
    return false;
  }
  ++i;
  return true;
}

bool readIdent(const std::string& s, size_t& i, std::string* out) {
  out->clear();
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) {
    out->push_back(s[i++]);
  }
  return !out->empty();
}

// Skips one HCL value we do not interpret: a string, a list, a block or a bare word.
bool skipValue(const std::string& s, size_t& i) {
  skipSpace(s, i);
  if (i >= s.size()) {
    return false;
  }
  if (s[i] == '"') {
    std::string ignored;
    return readString(s, i, &ignored);
  }
  if (s[i] == '[' || s[i] == '{') {
    int depth = 0;
    while (i < s.size()) {
      if (s[i] == '"') {
        std::string ignored;
        if (!readString(s, i, &ignored)) {
          return false;
        }
        continue;
      }
      if (s[i] == '[' || s[i] == '{') {
        ++depth;
      } else if (s[i] == ']' || s[i] == '}') {
        --depth;
        if (depth == 0) {
          ++i;
          return true;
        }
      }
      ++i;
    }
    return false;
  }
  std::string ignored;
  return readIdent(s, i, &ignored);
}

}  // namespace

bool parseCapability(std::string_view name, Capability* out) {
  for (const auto& cn : kCapNames) {
    if (name == cn.name) {
      *out = cn.cap;
      return true;
    }
  }
  return false;
}

absl::StatusOr<Policy> parsePolicyHcl(const std::string& name, const std::string& s) {
  Policy policy;
  policy.name = name;
  policy.hcl = s;
  size_t i = 0;
  auto fail = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to parse policy: ", what, " at offset ", i));
  };
  for (;;) {
    skipSpace(s, i);
    if (i >= s.size()) {
      break;
    }
    std::string keyword;
    if (!readIdent(s, i, &keyword) || keyword != "path") {
      return fail("expected 'path'");
    }
    skipSpace(s, i);
    PathRule rule;
    if (!readString(s, i, &rule.pattern)) {
      return fail("expected a quoted path");
    }
    skipSpace(s, i);
    if (i >= s.size() || s[i] != '{') {
      return fail("expected '{'");
    }
    ++i;
    for (;;) {
      skipSpace(s, i);
      if (i >= s.size()) {
        return fail("unterminated block");
      }
      if (s[i] == '}') {
        ++i;
        break;
      }
      std::string attr;
      if (!readIdent(s, i, &attr)) {
        return fail("expected an attribute");
      }
      skipSpace(s, i);
      if (i >= s.size() || s[i] != '=') {
        // A nested block such as required_parameters "x" {...}: skip it.
        if (!skipValue(s, i)) {
          return fail("bad attribute");
        }
        continue;
      }
      ++i;
      skipSpace(s, i);
      if (attr != "capabilities" && attr != "policy") {
        if (!skipValue(s, i)) {
          return fail("bad value");
        }
        continue;
      }
      if (attr == "policy") {
        // Legacy form: policy = "read" | "write" | "deny" | "sudo".
        std::string legacy;
        if (!readString(s, i, &legacy)) {
          return fail("expected a string");
        }
        if (legacy == "read") {
          rule.capabilities = {Capability::kRead, Capability::kList};
        } else if (legacy == "write") {
          rule.capabilities = {Capability::kRead,   Capability::kList,   Capability::kCreate,
                               Capability::kUpdate, Capability::kDelete, Capability::kPatch};
        } else if (legacy == "sudo") {
          rule.capabilities = {Capability::kRead,   Capability::kList,   Capability::kCreate,
                               Capability::kUpdate, Capability::kDelete, Capability::kPatch,
                               Capability::kSudo};
        } else if (legacy == "deny") {
          rule.capabilities = {Capability::kDeny};
        } else {
          return fail("unknown policy value");
        }
        continue;
      }
      if (i >= s.size() || s[i] != '[') {
        return fail("expected '['");
      }
      ++i;
      for (;;) {
        skipSpace(s, i);
        if (i < s.size() && s[i] == ']') {
          ++i;
          break;
        }
        std::string cap_name;
        if (!readString(s, i, &cap_name)) {
          return fail("expected a capability string");
        }
        Capability cap;
        if (!parseCapability(cap_name, &cap)) {
          return absl::InvalidArgumentError(
              absl::StrCat("failed to parse policy: invalid capability \"", cap_name, "\""));
        }
        rule.capabilities.insert(cap);
        skipSpace(s, i);
        if (i < s.size() && s[i] == ',') {
          ++i;
        }
      }
    }
    policy.rules.push_back(std::move(rule));
  }
  return policy;
}

std::string policyToHcl(const Policy& policy) {
  std::string out;
  for (const auto& rule : policy.rules) {
    absl::StrAppend(&out, "path \"", rule.pattern, "\" {\n  capabilities = [");
    bool first = true;
    for (Capability c : rule.capabilities) {
      absl::StrAppend(&out, first ? "" : ", ", "\"", capabilityName(c), "\"");
      first = false;
    }
    out += "]\n}\n";
  }
  return out;
}

bool globMatches(std::string_view pattern, std::string_view path) {
  size_t pi = 0;
  size_t si = 0;
  while (pi < pattern.size()) {
    char c = pattern[pi];
    if (c == '*' && pi + 1 == pattern.size()) {
      return true;  // trailing glob: any suffix
    }
    if (c == '+' && (pi == 0 || pattern[pi - 1] == '/') &&
        (pi + 1 == pattern.size() || pattern[pi + 1] == '/')) {
      // One whole segment, which must be non-empty.
      size_t end = path.find('/', si);
      if (end == std::string_view::npos) {
        end = path.size();
      }
      if (end == si) {
        return false;
      }
      si = end;
      ++pi;
      continue;
    }
    if (si >= path.size() || path[si] != c) {
      return false;
    }
    ++pi;
    ++si;
  }
  return si == path.size();
}

Acl::Acl(const std::vector<const Policy*>& policies, bool root) : root_(root) {
  for (const Policy* p : policies) {
    if (p == nullptr) {
      continue;
    }
    for (const auto& rule : p->rules) {
      rules_[rule.pattern].insert(rule.capabilities.begin(), rule.capabilities.end());
    }
  }
}

bool Acl::allows(std::string_view path, Capability capability) const {
  if (root_) {
    return true;
  }
  const std::string* best = nullptr;
  for (const auto& [pattern, caps] : rules_) {
    if (!globMatches(pattern, path)) {
      continue;
    }
    if (best == nullptr || lowerPriority(*best, pattern)) {
      best = &pattern;
    }
  }
  if (best == nullptr) {
    return false;
  }
  const auto& caps = rules_.at(*best);
  if (caps.count(Capability::kDeny) > 0) {
    return false;
  }
  return caps.count(capability) > 0;
}

bool Acl::allowsAnythingUnder(std::string_view prefix) const {
  if (root_) {
    return true;
  }
  for (const auto& [pattern, caps] : rules_) {
    if (caps.empty() || caps.count(Capability::kDeny) > 0) {
      continue;
    }
    // Compatible if the pattern can match some path starting with `prefix`: walk both until
    // one ends, letting '+' and a trailing '*' match anything.
    size_t pi = 0;
    size_t si = 0;
    bool ok = true;
    while (pi < pattern.size() && si < prefix.size()) {
      char c = pattern[pi];
      if (c == '*' && pi + 1 == pattern.size()) {
        break;
      }
      if (c == '+') {
        size_t end = prefix.find('/', si);
        si = end == std::string_view::npos ? prefix.size() : end;
        ++pi;
        continue;
      }
      if (prefix[si] != c) {
        ok = false;
        break;
      }
      ++pi;
      ++si;
    }
    if (ok) {
      return true;
    }
  }
  return false;
}

const Policy& defaultPolicy() {
  static const Policy* policy = [] {
    auto* p = new Policy();
    p->name = "default";
    p->rules = {
        {"auth/token/lookup-self", {Capability::kRead}},
        {"auth/token/renew-self", {Capability::kUpdate}},
        {"auth/token/revoke-self", {Capability::kUpdate}},
        {"sys/capabilities-self", {Capability::kUpdate}},
        {"sys/leases/renew", {Capability::kUpdate}},
        {"sys/leases/lookup", {Capability::kUpdate}},
        {"sys/renew", {Capability::kUpdate}},
        {"sys/wrapping/unwrap", {Capability::kUpdate}},
        {"sys/wrapping/lookup", {Capability::kUpdate}},
        {"sys/internal/ui/resultant-acl", {Capability::kRead}},
        {"cubbyhole/*",
         {Capability::kCreate, Capability::kRead, Capability::kUpdate, Capability::kDelete,
          Capability::kList}},
    };
    p->hcl = policyToHcl(*p);
    return p;
  }();
  return *policy;
}

}  // namespace secretsync::test::vault
