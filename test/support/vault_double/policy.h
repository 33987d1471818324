#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace secretsync::test::vault {

// Vault ACL capabilities.
enum class Capability { kRead, kList, kCreate, kUpdate, kDelete, kPatch, kSudo, kDeny };

// @return the capability named `name` ("read", ...), or nullopt-like false in `ok`.
bool parseCapability(std::string_view name, Capability* out);

// One `path "<pattern>" { capabilities = [...] }` stanza. Patterns use Vault's globs: a trailing
// `*` matches any suffix, a `+` segment matches exactly one path segment.
struct PathRule {
  std::string pattern;
  std::set<Capability> capabilities;
};

struct Policy {
  std::string name;
  std::vector<PathRule> rules;
  std::string hcl;  // the source text when parsed from HCL (returned by GET sys/policies/acl)
};

// Parses the HCL subset policies are written in: `path "x" { capabilities = ["read"] }`
// stanzas, `#` and `//` comments. Other attributes inside a stanza are ignored.
absl::StatusOr<Policy> parsePolicyHcl(const std::string& name, const std::string& hcl);

// Renders rules as HCL (for policies defined in C++).
std::string policyToHcl(const Policy& policy);

// @return true when `pattern` matches `path` (both without a leading slash).
bool globMatches(std::string_view pattern, std::string_view path);

// The effective ACL of a set of policies, resolved the way Vault does: the most specific
// matching pattern wins (Vault's priority rules), capabilities of equal patterns across policies
// are merged, and `deny` on the winner denies everything. The `root` policy allows all.
//
// Thread-safety: immutable after construction.
class Acl {
 public:
  Acl(const std::vector<const Policy*>& policies, bool root);

  // @return whether `capability` is granted on `path`.
  bool allows(std::string_view path, Capability capability) const;
  // @return whether any non-deny capability could apply to some path under `prefix` (the
  // preflight check: "any capability on any path under the mount").
  bool allowsAnythingUnder(std::string_view prefix) const;
  bool isRoot() const { return root_; }

 private:
  bool root_;
  std::map<std::string, std::set<Capability>> rules_;
};

// The text of Vault's built-in `default` policy, the parts the double serves.
const Policy& defaultPolicy();

}  // namespace secretsync::test::vault
