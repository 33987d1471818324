# flags_lib: command-line flag parsing for the subcommands.
add_library(flags_lib flags.cc)
target_link_libraries(flags_lib PUBLIC absl::status absl::statusor absl::strings)

# yaml_json_lib: YAML streams to nlohmann::json as Kubernetes reads manifests (pkg/api, sync -f).
add_library(yaml_json_lib yaml_json.cc)
target_link_libraries(yaml_json_lib PUBLIC absl::status absl::statusor absl::strings
  nlohmann_json::nlohmann_json yaml-cpp)

# duration_lib: Go time.ParseDuration / Duration.String, for ESO's interval fields.
add_library(duration_lib duration.cc)
target_link_libraries(duration_lib PUBLIC absl::status absl::statusor absl::strings absl::time)

# token_bucket_lib: golang.org/x/time/rate's token bucket (work queue limit, event spam filter).
add_library(token_bucket_lib token_bucket.cc)

# json_wipe_lib: zeroes the string values of a parsed reply that carried secrets.
add_library(json_wipe_lib json_wipe.cc)
target_link_libraries(json_wipe_lib PUBLIC nlohmann_json::nlohmann_json)

# token_file_lib: a credential file re-read when it changes (service-account tokens).
add_library(token_file_lib token_file.cc)
target_link_libraries(token_file_lib PUBLIC absl::status absl::statusor absl::strings)

# json_fields_lib: type-checked member reads of outside JSON (never throw on a wrong type).
add_library(json_fields_lib json_fields.cc)
target_link_libraries(json_fields_lib PUBLIC nlohmann_json::nlohmann_json)

# go_regexp_lib: Go's regexp (RE2 syntax, linear-time matching) for the regexes in ESO manifests.
add_library(go_regexp_lib go_regexp.cc)
target_link_libraries(go_regexp_lib PUBLIC absl::status absl::statusor PRIVATE re2::re2)
