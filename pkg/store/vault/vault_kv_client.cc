#include "pkg/store/vault/vault_kv_client.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pkg/common/json_wipe.h"
#include "pkg/common/status_macros.h"
#include "pkg/store/vault/vault_errors.h"

namespace secretsync::store::vault {
namespace {

constexpr absl::string_view kPreflightPrefix = "sys/internal/ui/mounts/";

bool isSuccess(int status) { return status >= 200 && status <= 299; }

std::string withTrailingSlash(absl::string_view path) {
  std::string out(path);
  while (!out.empty() && out.back() == '/') {
    out.pop_back();
  }
  if (!out.empty()) {
    out.push_back('/');
  }
  return out;
}

// Whether `mount` ("team/kv/") contains `path` ("team/kv/app/db" or the root "team/kv"). Both
// compared with a trailing slash so "secret/" never matches "secretx/...".
bool mountContains(absl::string_view mount, absl::string_view path) {
  return !mount.empty() && absl::StartsWith(withTrailingSlash(path), mount);
}

// `path` below `mount` ("app/db"); "" for the mount root.
std::string relativeTo(absl::string_view mount, absl::string_view path) {
  const std::string full = withTrailingSlash(path);
  std::string rest = full.substr(std::min(mount.size(), full.size()));
  if (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  return rest;
}

// A key returned by LIST that we would descend into or join to a path: one or more plain
// segments. A hostile server could otherwise steer a recursive list elsewhere with "../".
bool isPlainKey(absl::string_view key) {
  if (key.empty() || key.front() == '/') {
    return false;
  }
  if (key.back() == '/') {
    key.remove_suffix(1);
  }
  for (absl::string_view segment : absl::StrSplit(key, '/')) {
    if (segment.empty() || segment == "." || segment == "..") {
      return false;
    }
  }
  return true;
}

// Whether Vault refused the token itself (expired, revoked), as opposed to its policy.
bool isInvalidToken(const VaultReply& reply) {
  return reply.status == 403 &&
         statusFromReply(reply, "", "").code() == absl::StatusCode::kUnauthenticated;
}

absl::Status withContext(const absl::Status& status, absl::string_view operation,
                         absl::string_view what) {
  return absl::Status(status.code(),
                      absl::StrCat("vault ", operation, " ", what, ": ", status.message()));
}

}  // namespace

absl::Status validateSecretPath(std::string_view path_in, bool allow_trailing_slash) {
  const absl::string_view path(path_in.data(), path_in.size());
  auto invalid = [&](absl::string_view reason) {
    // CHexEscape keeps control characters out of logs; a path is not a secret.
    return absl::InvalidArgumentError(
        absl::StrCat("vault: invalid secret path \"", absl::CHexEscape(path), "\": ", reason));
  };
  if (path.empty()) {
    return invalid("empty");
  }
  if (path.front() == '/') {
    return invalid("must not start with \"/\"");
  }
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return invalid("contains a control character");
    }
  }
  absl::string_view body = path;
  if (body.back() == '/') {
    if (!allow_trailing_slash) {
      return invalid("names a folder (ends in \"/\")");
    }
    body.remove_suffix(1);
  }
  for (absl::string_view segment : absl::StrSplit(body, '/')) {
    if (segment.empty()) {
      return invalid("has an empty segment");
    }
    if (segment == "." || segment == "..") {
      return invalid("has a \".\" or \"..\" segment");
    }
  }
  return absl::OkStatus();
}

VaultKvClient::VaultKvClient(VaultTransport& transport, TokenProvider& tokens,
                             VaultKvClientOptions options)
    : transport_(transport),
      tokens_(tokens),
      options_(std::move(options)),
      fixed_mount_(withTrailingSlash(options_.mount)) {}

absl::StatusOr<VaultReply> VaultKvClient::callWithToken(VaultCall call) {
  ASSIGN_OR_RETURN(common::SecretString token, tokens_.token());
  call.token = &token;
  ASSIGN_OR_RETURN(VaultReply reply, transport_.call(call));
  if (!isInvalidToken(reply)) {
    return reply;
  }
  // Expired or revoked under us: one fresh login, one more try. A second refusal is returned as
  // is, so a broken auth setup cannot loop.
  tokens_.invalidate(token);
  ASSIGN_OR_RETURN(common::SecretString fresh, tokens_.token());
  call.token = &fresh;
  return transport_.call(call);
}

absl::StatusOr<VaultKvClient::Mount> VaultKvClient::preflight(const std::string& path) {
  const std::string what = absl::StrCat("mount lookup for ", path);
  VaultCall call;
  call.method = "GET";
  call.path = absl::StrCat(kPreflightPrefix, path);
  call.path_template = absl::StrCat(kPreflightPrefix, "*");
  ASSIGN_OR_RETURN(VaultReply reply, callWithToken(std::move(call)));
  if (reply.status == 404) {
    // Servers without the endpoint (very old ones): KV v1, as the CLI decides.
    std::lock_guard lock(mu_);
    preflight_unsupported_ = true;
    return Mount{"", 1};
  }
  if (!isSuccess(reply.status)) {
    return statusFromReply(reply, "GET", what);
  }
  absl::StatusOr<MountInfo> info = parseMountInfo(reply.body);
  if (!info.ok()) {
    return withContext(info.status(), "GET", what);
  }
  // The mount path may carry the namespace the mount lives in ("ns1/secret/") while our paths are
  // relative to the X-Vault-Namespace: drop leading segments until the mount contains the path.
  absl::string_view mount = info->path;
  while (!mount.empty() && !mountContains(mount, path)) {
    const size_t slash = mount.find('/');
    mount.remove_prefix(std::min(slash + 1, mount.size()));
  }
  if (mount.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("vault ", what, ": the server named mount \"",
                                                      info->path,
                                                      "\", which does not contain the path"));
  }
  return Mount{std::string(mount), info->kv_version};
}

absl::StatusOr<VaultKvClient::Mount> VaultKvClient::mountFor(const std::string& path) {
  const int forced = options_.kv_version == KvVersion::kV1   ? 1
                     : options_.kv_version == KvVersion::kV2 ? 2
                                                             : 0;
  if (forced != 0 && !fixed_mount_.empty()) {
    if (!mountContains(fixed_mount_, path)) {
      return absl::InvalidArgumentError(absl::StrCat("vault: path \"", absl::CHexEscape(path),
                                                     "\" is not under mount \"", fixed_mount_,
                                                     "\""));
    }
    return Mount{fixed_mount_, forced};
  }

  std::optional<Mount> found;
  {
    std::lock_guard lock(mu_);
    if (preflight_unsupported_) {
      found = Mount{"", 1};
    } else {
      // The cached mount containing the path. Vault refuses overlapping mounts, so there is at
      // most one; taking the longest keeps a namespace-stripped entry from shadowing a real one.
      for (const Mount& mount : mounts_) {
        if (mountContains(mount.path, path) &&
            (!found.has_value() || mount.path.size() > found->path.size())) {
          found = mount;
        }
      }
    }
  }
  if (!found.has_value()) {
    ASSIGN_OR_RETURN(Mount mount, preflight(path));
    if (!mount.path.empty()) {
      std::lock_guard lock(mu_);
      const bool known = std::any_of(mounts_.begin(), mounts_.end(),
                                     [&](const Mount& m) { return m.path == mount.path; });
      if (!known) {
        mounts_.push_back(mount);
      }
    }
    found = std::move(mount);
  }
  if (forced != 0) {
    found->kv_version = forced;
  }
  if (found->kv_version == 2 && found->path.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("vault: KV v2 path \"", absl::CHexEscape(path),
                     "\" needs its mount, and the server has no mount lookup; set the mount"));
  }
  return *found;
}

absl::StatusOr<std::string> VaultKvClient::pathFromApiPath(const std::string& api_path) {
  RETURN_IF_ERROR(validateSecretPath(api_path, /*allow_trailing_slash=*/false));
  ASSIGN_OR_RETURN(const Mount mount, mountFor(api_path));
  if (mount.kv_version != 2) return api_path;
  const std::string rest = relativeTo(mount.path, api_path);
  if (!absl::StartsWith(rest, "data/")) return api_path;
  return absl::StrCat(mount.path, rest.substr(5));
}

absl::StatusOr<Secret> VaultKvClient::read(const SecretRef& ref) {
  RETURN_IF_ERROR(validateSecretPath(ref.path, /*allow_trailing_slash=*/false));
  const std::string what =
      ref.version.has_value() ? absl::StrCat(ref.path, " version ", *ref.version) : ref.path;
  if (ref.version.has_value() && *ref.version < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("vault read ", what, ": a pinned version must be 1 or more"));
  }
  ASSIGN_OR_RETURN(const Mount mount, mountFor(ref.path));

  VaultCall call;
  call.method = "GET";
  if (mount.kv_version == 1) {
    if (ref.version.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "vault read ", what, ": versions can only be pinned on KV v2, and the mount is KV v1"));
    }
    call.path = ref.path;
    call.path_template = mount.path.empty() ? "" : absl::StrCat(mount.path, "*");
    ASSIGN_OR_RETURN(VaultReply reply, callWithToken(std::move(call)));
    if (reply.status == 404) {
      return notFoundError(NotFoundReason::Missing,
                           absl::StrCat("vault read ", what, ": not found"));
    }
    if (!isSuccess(reply.status)) {
      return statusFromReply(reply, "read", what);
    }
    absl::StatusOr<Secret> secret = parseKvV1Read(reply.body);
    // The values now live in `secret` only.
    common::wipeJsonStrings(reply.body);
    if (!secret.ok()) {
      return withContext(secret.status(), "read", what);
    }
    return secret;
  }

  const std::string rest = relativeTo(mount.path, ref.path);
  if (rest.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("vault read ", what, ": names the mount, not a secret"));
  }
  call.path = absl::StrCat(mount.path, "data/", rest);
  call.path_template = absl::StrCat(mount.path, "data/*");
  if (ref.version.has_value()) {
    call.query.emplace_back("version", absl::StrCat(*ref.version));
  }
  ASSIGN_OR_RETURN(VaultReply reply, callWithToken(std::move(call)));
  if (!isSuccess(reply.status) && reply.status != 404) {
    return statusFromReply(reply, "read", what);
  }
  absl::StatusOr<KvV2Read> parsed = parseKvV2Read(reply.body);
  // The values now live in `parsed` only.
  common::wipeJsonStrings(reply.body);
  if (!parsed.ok()) {
    if (reply.status == 404) {
      // A 404 we cannot read is still a 404.
      return notFoundError(NotFoundReason::Missing,
                           absl::StrCat("vault read ", what, ": not found"));
    }
    return withContext(parsed.status(), "read", what);
  }
  const int64_t version = parsed->secret.version;
  switch (parsed->state) {
    case KvReadState::kFound:
      if (reply.status == 404) {
        break;
      }
      return std::move(parsed->secret);
    case KvReadState::kDeleted:
      return notFoundError(
          NotFoundReason::Deleted,
          absl::StrCat("vault read ", ref.path, ": version ", version, " is deleted"));
    case KvReadState::kDestroyed:
      return notFoundError(
          NotFoundReason::Destroyed,
          absl::StrCat("vault read ", ref.path, ": version ", version, " is destroyed"));
    case KvReadState::kMissing:
      break;
  }
  return notFoundError(NotFoundReason::Missing, absl::StrCat("vault read ", what, ": not found"));
}

absl::StatusOr<SecretMetadata> VaultKvClient::readMetadata(std::string_view path_view) {
  const std::string path(path_view);
  RETURN_IF_ERROR(validateSecretPath(path, /*allow_trailing_slash=*/false));
  ASSIGN_OR_RETURN(const Mount mount, mountFor(path));
  if (mount.kv_version != 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "vault read metadata ", path, ": the mount is KV v1, which keeps no metadata"));
  }
  const std::string rest = relativeTo(mount.path, path);
  if (rest.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("vault read metadata ", path, ": names the mount, not a secret"));
  }
  VaultCall call;
  call.method = "GET";
  call.path = absl::StrCat(mount.path, "metadata/", rest);
  call.path_template = absl::StrCat(mount.path, "metadata/*");
  ASSIGN_OR_RETURN(const VaultReply reply, callWithToken(std::move(call)));
  if (reply.status == 404) {
    return notFoundError(NotFoundReason::Missing,
                         absl::StrCat("vault read metadata ", path, ": not found"));
  }
  if (!isSuccess(reply.status)) {
    return statusFromReply(reply, "read metadata", path);
  }
  absl::StatusOr<SecretMetadata> metadata = parseKvV2Metadata(reply.body);
  if (!metadata.ok()) {
    return withContext(metadata.status(), "read metadata", path);
  }
  return metadata;
}

absl::StatusOr<std::vector<std::string>> VaultKvClient::listFolder(const std::string& api_path,
                                                                   const std::string& path_template,
                                                                   std::string_view what_in) {
  const absl::string_view what(what_in.data(), what_in.size());
  VaultCall call;
  // GET ?list=true, as the Go client lists: every server and proxy passes GET.
  call.method = "GET";
  call.path = api_path;
  call.query.emplace_back("list", "true");
  call.path_template = path_template;
  ASSIGN_OR_RETURN(const VaultReply reply, callWithToken(std::move(call)));
  if (reply.status == 404) {
    // Vault turns an empty folder into 404; a missing one is the same to us.
    return std::vector<std::string>{};
  }
  if (!isSuccess(reply.status)) {
    return statusFromReply(reply, "list", what_in);
  }
  absl::StatusOr<std::vector<std::string>> keys = parseListKeys(reply.body);
  if (!keys.ok()) {
    return withContext(keys.status(), "list", what);
  }
  return keys;
}

absl::StatusOr<std::vector<std::string>> VaultKvClient::list(std::string_view path_view,
                                                             bool recursive) {
  RETURN_IF_ERROR(validateSecretPath(path_view, /*allow_trailing_slash=*/true));
  // path_view is not empty: validated above.
  std::string folder(path_view);
  if (folder.back() == '/') {
    folder.pop_back();
  }
  ASSIGN_OR_RETURN(const Mount mount, mountFor(folder));
  std::string base;
  std::string path_template;
  if (mount.kv_version == 2) {
    const std::string rest = relativeTo(mount.path, folder);
    base = absl::StrCat(mount.path, "metadata/", rest.empty() ? "" : absl::StrCat(rest, "/"));
    path_template = absl::StrCat(mount.path, "metadata/*");
  } else {
    base = absl::StrCat(folder, "/");
    path_template = mount.path.empty() ? "" : absl::StrCat(mount.path, "*");
  }

  if (!recursive) {
    ASSIGN_OR_RETURN(std::vector<std::string> keys, listFolder(base, path_template, folder));
    if (keys.size() > options_.max_list_keys) {
      return absl::ResourceExhaustedError(
          absl::StrCat("vault list ", folder, ": more than ", options_.max_list_keys, " keys"));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  struct Pending {
    std::string relative;  // "" or "a/b/", below `folder`
    int depth = 0;
  };
  std::vector<Pending> stack{{"", 0}};
  std::vector<std::string> leaves;
  size_t seen = 0;
  while (!stack.empty()) {
    Pending current = std::move(stack.back());
    stack.pop_back();
    const std::string what = absl::StrCat(folder, "/", current.relative);
    ASSIGN_OR_RETURN(std::vector<std::string> keys,
                     listFolder(base + current.relative, path_template, what));
    seen += keys.size();
    if (seen > options_.max_list_keys) {
      return absl::ResourceExhaustedError(absl::StrCat("vault list ", folder, ": more than ",
                                                       options_.max_list_keys, " keys below it"));
    }
    for (std::string& key : keys) {
      if (!isPlainKey(key)) {
        return absl::DataLossError(
            absl::StrCat("vault list ", what, ": the server returned an invalid key"));
      }
      if (key.back() == '/') {
        if (current.depth + 1 > options_.max_list_depth) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "vault list ", folder, ": folders nest deeper than ", options_.max_list_depth));
        }
        stack.push_back(Pending{current.relative + key, current.depth + 1});
      } else {
        leaves.push_back(current.relative + key);
      }
    }
  }
  std::sort(leaves.begin(), leaves.end());
  return leaves;
}

}  // namespace secretsync::store::vault
