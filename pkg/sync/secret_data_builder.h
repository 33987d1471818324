#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pkg/api/external_secret.h"
#include "pkg/common/secret_string.h"
#include "pkg/store/fetcher.h"
#include "pkg/sync/store_source.h"

namespace secretsync::sync {

// ESO's annotation on every Secret it manages, holding esoDataHash() of the Secret's data.
inline constexpr std::string_view kDataHashAnnotation = "reconcile.external-secrets.io/data-hash";

// The Secret an ExternalSecret asks for, before it is written anywhere.
struct DesiredSecret {
  // Secret key -> value bytes (never logged; keys are valid Secret keys).
  std::map<std::string, common::SecretString> data;
  // template.type; "" when the ExternalSecret has no template or the template sets no type (the
  // writer then keeps the existing Secret's type, or "Opaque" for a new one, as ESO does).
  std::string type;
  // template.metadata rendered, or, without template metadata, the ExternalSecret's own labels
  // and annotations (ESO copies them). Neither includes the data-hash annotation or ESO's
  // managed/owner labels: those belong to the writer.
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // esoDataHash(data): the value of kDataHashAnnotation when `data` is the whole Secret data
  // (creationPolicy Owner/Orphan). With creationPolicy Merge ESO hashes the union of the existing
  // Secret's data and `data`: call esoDataHash on that union instead.
  std::string data_hash;
};

// Builds the data of an ExternalSecret's target Secret from its stores, as ESO does for the Vault
// provider (ESO: pkg/controllers/externalsecret getProviderSecretData + applyTemplate,
// providers/v1/vault client_get.go / client_get_all_secrets.go):
//
//   1. spec.dataFrom[] in order, each entry's keys overriding those of earlier entries:
//      - extract: the secret at `key` (narrowed by `property`, which must then be an object) as a
//        JSON object; each top-level key becomes a Secret key, each value its bytes (strings as
//        they are; numbers, booleans as text; objects and arrays as compact JSON; null empty);
//      - find: a recursive LIST of `path` (or the store's mount), names matched by name.regexp
//        (unanchored search, as Go's MatchString), each match read whole as JSON under its path
//        relative to the mount ("app/db"). find.tags is refused (kUnimplemented);
//      then rewrite[] in order (regexp: every match in each key replaced, Go's
//      `$1`/`${1}`/`${name}` templates translated to ECMAScript; transform: the template rendered
//      with `.value` = the key); without rewrite, conversionStrategy Default replaces every
//      character outside
//      [-._a-zA-Z0-9] with "_" (so "app/db" becomes "app_db"); then decodingStrategy per value.
//   2. spec.data[] in order, each overriding any earlier key: the secret at remoteRef.key
//      (version pinned when given; with metadataPolicy Fetch its KV v2 custom_metadata and
//      created_time/current_version/delete_version_after instead), narrowed by `property`, then
//      decoded by decodingStrategy.
//   3. spec.target.template: with template.data, the Secret data is the rendered templates
//      (mergePolicy Replace) or the fetched data with the rendered templates on top (Merge);
//      without it, the fetched data. Templates see the fetched values as strings. type and
//      metadata labels/annotations (themselves templates) are rendered likewise.
//
// property: a key of the secret's data (an exact match wins, as in ESO), or a gjson path of
// '.'-separated object keys and array indices ("db.users.0.name"), "\." escaping a dot inside a
// key. Anything else gjson offers (wildcards * ?, #, @modifiers, |, queries, multipaths) is
// refused with kUnimplemented naming the field. The selected value's bytes: a string as is, other
// JSON as gjson's String() gives it (numbers and booleans as text, objects and arrays as the
// compact JSON Go's encoding/json writes: sorted keys, `<>&` escaped).
// No property: the whole secret data as that same JSON, even for a single key (as ESO).
//
// decodingStrategy: Base64 / Base64URL are Go's padded StdEncoding / URLEncoding (CR and LF
// ignored); Auto tries Base64, then Base64URL, and keeps the bytes as they are when neither
// decodes; None keeps them.
//
// Regular expressions are Go's (RE2 syntax, pkg/common/go_regexp.h); rewrite targets expand $1,
// ${1} and named groups as Go's Regexp.Expand.
//
// Reads: every secret read goes through `fetcher` (so N ExternalSecrets reading one path of one
// identity cost one store read per cache window); find's LIST and metadataPolicy Fetch go to the
// StoreClient directly (the Fetcher caches reads only). Within one build() a secret (identity,
// path, version) is read once, whatever the cache does: every key taken from it comes from one
// Vault version, never from two writes of the path.
//
// Errors: the status message is "<namespace>/<name>: <field>: <reason>", e.g.
//   prod/app: spec.data[2].remoteRef.property: key "password" not found in secret "secret/app/db"
// naming the ExternalSecret, the field and the store path, never a value. The field is also
// carried as a payload (failedField()), and whether to retry (isRetryable()): a failure the spec
// alone decides (an unsupported property syntax, an invalid regexp, a template that does not
// parse, a bad secretKey) is terminal until the ExternalSecret changes; one that depends on the
// store or its contents (store down, secret or property missing, permission denied, a value that
// does not decode, a found key that is not a valid Secret key) is retryable with backoff.
//
// Thread-safety: build() may be called from many threads at once; `stores` and `fetcher` must be
// thread-safe (they are, as specified) and outlive the builder.
class SecretDataBuilder {
 public:
  SecretDataBuilder(StoreClientSource& stores, store::Fetcher& fetcher);

  // Builds the desired Secret for `es` (parsed, with diagnostics ok(): the builder does not
  // re-report what parseExternalSecret found). Reads the stores; writes nothing.
  absl::StatusOr<DesiredSecret> build(const api::ExternalSecret& es) const;

 private:
  StoreClientSource& stores_;
  store::Fetcher& fetcher_;
};

// Whether a build() error should be retried with backoff (true) or is terminal until the
// ExternalSecret changes (false). Errors not made by build() are retryable unless their code is
// kInvalidArgument or kUnimplemented.
bool isRetryable(const absl::Status& status);

// The field a build() error is about ("spec.data[2].remoteRef.property",
// "spec.secretStoreRef"); "" when it names none or was not made by build().
std::string failedField(const absl::Status& status);

// ESO's data hash (esutils.ObjectHash of a map[string][]byte): the hex MD5 of Go's fmt "%+v" of
// the map, i.e. of "map[k1:[b b b] k2:[b b]]" with keys sorted and each value's bytes in decimal.
// Equal to what ESO writes for the same data, so a Secret ESO wrote is recognised as unchanged.
std::string esoDataHash(const std::map<std::string, common::SecretString>& data);

// OK when `key` may be a Secret data key (the API server's IsConfigMapKey): 1 to 253 characters
// of [-._a-zA-Z0-9], not "." and not starting with "..". kInvalidArgument otherwise, naming the
// key (a key is a name, not a value).
absl::Status validateSecretKey(std::string_view key);

}  // namespace secretsync::sync
