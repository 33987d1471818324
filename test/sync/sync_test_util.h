#pragma once

// Helpers shared by the tests of the secret data builder, the store resolver and the manifest
// set: manifests from YAML text, and the process-wide libcurl initialisation.

#include <string>

#include "gtest/gtest.h"
#include "pkg/api/external_secret.h"
#include "pkg/api/secret_store.h"
#include "pkg/common/http/curl_http_client.h"
#include "pkg/common/yaml_json.h"

namespace secretsync::sync::testing {

inline void initCurl() {
  static const auto* const global = new common::http::CurlGlobal();
  (void)global;
}

// Parses one manifest with `parse` (api::parseExternalSecret or api::parseSecretStore); fails the
// test when it does not parse cleanly.
template <typename T, typename Parse>
T parseClean(const std::string& yaml, Parse parse) {
  auto json = common::yamlToJsonSingle(yaml);
  EXPECT_TRUE(json.ok()) << json.status();
  if (!json.ok()) {
    return {};
  }
  auto parsed = parse(*json);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) {
    return {};
  }
  EXPECT_TRUE(parsed->diagnostics.ok()) << parsed->diagnostics.message();
  return parsed->object;
}

inline api::ExternalSecret externalSecret(const std::string& yaml) {
  return parseClean<api::ExternalSecret>(yaml, api::parseExternalSecret);
}

inline api::SecretStore secretStore(const std::string& yaml) {
  return parseClean<api::SecretStore>(yaml, api::parseSecretStore);
}

}  // namespace secretsync::sync::testing
